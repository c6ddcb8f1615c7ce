/** One line naming the machine a benchmark ran on, printed with every figure. */
import { cpus, totalmem } from 'node:os';

export function hardwareLine(): string {
  const c = cpus();
  const model = c[0]?.model.trim() ?? 'unknown CPU';
  return `${model}, ${c.length} logical cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version} on ${process.platform}/${process.arch}`;
}
