/**
 * LTI 1.3 claim names (1EdTech LTI Core 1.3, Deep Linking 2.0, Proctoring Services 1.0) and what
 * ExamVault keeps of a launch: the opaque `sub`, roles, deployment, context and resource-link ids,
 * the custom parameter naming the exam, and what the message itself needs. Everything else — names,
 * emails, pictures, `lis` person ids, locale, anything unknown — is dropped here, before anything is
 * stored or logged, unless the registration keeps a claim explicitly (`keptClaims`).
 */
import { EXAM_CUSTOM_PARAMETER, type OptionalPersonClaim } from '../../protocol/lti.js';

const LTI = 'https://purl.imsglobal.org/spec/lti/claim/';
const DL = 'https://purl.imsglobal.org/spec/lti-dl/claim/';
const AP = 'https://purl.imsglobal.org/spec/lti-ap/claim/';

export const claim = {
  messageType: `${LTI}message_type`,
  version: `${LTI}version`,
  deploymentId: `${LTI}deployment_id`,
  targetLinkUri: `${LTI}target_link_uri`,
  resourceLink: `${LTI}resource_link`,
  roles: `${LTI}roles`,
  context: `${LTI}context`,
  custom: `${LTI}custom`,
  lis: `${LTI}lis`,
  deepLinkingSettings: `${DL}deep_linking_settings`,
  contentItems: `${DL}content_items`,
  deepLinkingData: `${DL}data`,
  attemptNumber: `${AP}attempt_number`,
  sessionData: `${AP}session_data`,
  startAssessmentUrl: `${AP}start_assessment_url`,
  endAssessmentReturn: `${AP}end_assessment_return`,
} as const;

export const LTI_VERSION = '1.3.0';

export const messageTypes = ['LtiResourceLinkRequest', 'LtiDeepLinkingRequest', 'LtiStartProctoring', 'LtiEndAssessment'] as const;
export type MessageType = (typeof messageTypes)[number];

/** Messages about one resource link, which must carry resource_link.id. */
export const resourceLinkMessages: readonly MessageType[] = ['LtiResourceLinkRequest', 'LtiStartProctoring', 'LtiEndAssessment'];

/** What ExamVault keeps of a validated launch; nothing else of the id_token survives validation. */
export interface KeptLaunch {
  readonly messageType: MessageType;
  readonly deploymentId: string;
  readonly sub: string | null;
  readonly roles: readonly string[];
  readonly contextId: string | null;
  readonly resourceLinkId: string | null;
  /** The exam the resource link opens (custom parameter set by deep linking). */
  readonly exam: string | null;
  /** Deep linking: where the response goes, and the opaque data to echo. */
  readonly deepLinking: { readonly returnUrl: string; readonly data: string | null; readonly acceptMultiple: boolean } | null;
  /** Proctoring: what LtiStartAssessment must echo. */
  readonly proctoring: { readonly attemptNumber: number; readonly sessionData: string; readonly startAssessmentUrl: string | null } | null;
  /** Person claims the registration chose to keep (none by default). */
  readonly kept: Readonly<Partial<Record<OptionalPersonClaim, unknown>>> | null;
}

/** A role URI as 1EdTech defines them, or its deprecated short form: the part after `#` or the last `/`. */
function roleName(role: string): string {
  return role.slice(Math.max(role.lastIndexOf('#'), role.lastIndexOf('/')) + 1);
}

const staffRoleNames = new Set(['Instructor', 'Administrator', 'ContentDeveloper', 'TeachingAssistant', 'SysAdmin']);

/** An instructor, teaching assistant, content developer or administrator (context, institution or system role). */
export function isStaffLaunch(roles: readonly string[]): boolean {
  return roles.some((r) => staffRoleNames.has(roleName(r)));
}

export function isLearnerLaunch(roles: readonly string[]): boolean {
  return roles.some((r) => roleName(r) === 'Learner');
}

function stringOrNull(v: unknown, max = 255): string | null {
  return typeof v === 'string' && v.length > 0 && v.length <= max ? v : null;
}

/** Reduces validated claims to what is kept (see the module comment). */
export function keepOf(claims: Record<string, unknown>, messageType: MessageType, keptClaims: readonly OptionalPersonClaim[]): KeptLaunch {
  const context = claims[claim.context] as { id?: unknown } | undefined;
  const link = claims[claim.resourceLink] as { id?: unknown } | undefined;
  const custom = claims[claim.custom] as Record<string, unknown> | undefined;
  const settings = claims[claim.deepLinkingSettings] as { deep_link_return_url?: unknown; data?: unknown; accept_multiple?: unknown } | undefined;
  const kept: Partial<Record<OptionalPersonClaim, unknown>> = {};
  for (const name of keptClaims) {
    const value = name === 'lis' ? claims[claim.lis] : claims[name];
    if (value !== undefined) kept[name] = value;
  }
  return {
    messageType,
    deploymentId: claims[claim.deploymentId] as string,
    sub: stringOrNull(claims.sub),
    roles: (claims[claim.roles] as string[]).filter((r) => typeof r === 'string' && r.length <= 255),
    contextId: stringOrNull(context?.id),
    resourceLinkId: stringOrNull(link?.id),
    exam: stringOrNull(custom?.[EXAM_CUSTOM_PARAMETER], 64),
    deepLinking:
      messageType === 'LtiDeepLinkingRequest' && settings
        ? { returnUrl: settings.deep_link_return_url as string, data: stringOrNull(settings.data, 4096), acceptMultiple: settings.accept_multiple === true }
        : null,
    proctoring:
      messageType === 'LtiStartProctoring' || messageType === 'LtiEndAssessment'
        ? {
            attemptNumber: Number(claims[claim.attemptNumber]),
            sessionData: typeof claims[claim.sessionData] === 'string' ? (claims[claim.sessionData] as string) : '',
            startAssessmentUrl: stringOrNull(claims[claim.startAssessmentUrl], 2048),
          }
        : null,
    kept: keptClaims.length > 0 ? kept : null,
  };
}
