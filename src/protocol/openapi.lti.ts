/** OpenAPI description of the LTI 1.3 tool's routes and the attempt hand-off (docs/LTI.md), merged into openapi.ts. */
import { optionalPersonClaims } from './lti.js';

const json = (schema: object) => ({ 'application/json': { schema } });
const err = (description: string) => ({ description, content: json({ $ref: '#/components/schemas/Error' }) });
const form = (properties: Record<string, object>, required: readonly string[]) => ({
  required: true,
  content: { 'application/x-www-form-urlencoded': { schema: { type: 'object', required, properties } } },
});
const html = (description: string) => ({ description, content: { 'text/html': { schema: { type: 'string' } } } });
const session = [{ staffSession: [] }];
const denied = {
  '401': err('No, unknown or expired staff session (EV_ERR_SESSION_*)'),
  '403': err('Not an admin of the institution, or bad Origin / CSRF token'),
};
const str = { type: 'string' };
const url = { type: 'string', format: 'uri' };
const platform = { $ref: '#/components/schemas/LtiPlatform' };
const launchRefusals = {
  '400': err('Missing fields, or a state that is unknown, expired or used (EV_ERR_LTI_LAUNCH_INVALID, EV_ERR_LTI_STATE_INVALID)'),
  '401': err('The id_token broke a validation rule: each rule has its own code (EV_ERR_LTI_TOKEN_*, EV_ERR_LTI_NONCE_*, …)'),
  '403': err('This browser did not start the login (EV_ERR_LTI_STATE_UNBOUND), or the roles allow nothing here'),
  '404': err('The resource link names no exam of the institution (EV_ERR_LTI_EXAM_UNKNOWN)'),
  '502': err('The platform JWKS could not be fetched (EV_ERR_LTI_PLATFORM_JWKS_UNAVAILABLE)'),
};
const loginParams = {
  iss: str, login_hint: str, target_link_uri: url, lti_message_hint: str, client_id: str, lti_deployment_id: str,
  lti_storage_target: { type: 'string', description: 'The platform-storage frame (LTI Client Side postMessages)' },
};
const loginResponses = {
  '200': html('With lti_storage_target: a page whose external script stores the state binding with the platform, then goes on'),
  '302': { description: 'To the platform\'s authorization endpoint; sets the state-binding cookie (Secure, HttpOnly, SameSite=None, Partitioned)' },
  '400': err('Missing parameters or an unregistered platform (EV_ERR_LTI_LOGIN_INVALID, EV_ERR_LTI_PLATFORM_UNKNOWN)'),
};
const codeForm = form({ code: str }, ['code']);

export const ltiSchemas = {
  LtiPlatform: {
    type: 'object',
    required: ['platform', 'institution', 'issuer', 'clientId', 'deploymentIds', 'authEndpoint', 'tokenEndpoint', 'jwksUrl', 'frameOrigins', 'keptClaims', 'createdAt'],
    properties: {
      platform: str,
      institution: str,
      issuer: str,
      clientId: str,
      deploymentIds: { type: 'array', items: str, minItems: 1 },
      authEndpoint: url,
      tokenEndpoint: url,
      jwksUrl: url,
      frameOrigins: { type: 'array', items: url, description: 'Origins allowed to frame the tool, beyond the issuer\'s and the auth endpoint\'s' },
      keptClaims: { type: 'array', items: { type: 'string', enum: optionalPersonClaims }, description: 'Person claims kept; none by default' },
      createdAt: { type: 'string', format: 'date-time' },
    },
  },
} as const;

export const ltiPaths = {
  '/v1/lti/platforms': {
    post: {
      summary: 'Register an LTI 1.3 platform for my institution (admin)',
      security: session,
      requestBody: {
        required: true,
        content: json({
          type: 'object',
          additionalProperties: false,
          required: ['issuer', 'clientId', 'deploymentIds', 'authEndpoint', 'tokenEndpoint', 'jwksUrl'],
          properties: { issuer: str, clientId: str, deploymentIds: { type: 'array', items: str }, authEndpoint: url, tokenEndpoint: url, jwksUrl: url, frameOrigins: { type: 'array', items: url }, keptClaims: { type: 'array', items: { type: 'string', enum: optionalPersonClaims } } },
        }),
      },
      responses: { '201': { description: 'The registration', content: json(platform) }, '400': err('EV_ERR_LTI_INVALID_REQUEST'), ...denied, '409': err('EV_ERR_LTI_PLATFORM_EXISTS') },
    },
    get: { summary: 'My institution\'s platform registrations (admin)', security: session, responses: { '200': { description: 'The registrations', content: json({ type: 'object', required: ['platforms'], properties: { platforms: { type: 'array', items: platform } } }) }, ...denied } },
  },
  '/v1/lti/platforms/{platform}': {
    delete: {
      summary: 'Remove a platform registration (admin): its launches are refused from then on',
      security: session,
      parameters: [{ name: 'platform', in: 'path', required: true, schema: str }],
      responses: { '204': { description: 'Removed' }, ...denied, '404': err('EV_ERR_LTI_PLATFORM_NOT_FOUND') },
    },
  },
  '/v1/lti/jwks': { get: { summary: 'The tool JWKS (RS256 keys with kid; a retired key stays for its grace period)', responses: { '200': { description: 'A JWK set', content: json({ type: 'object', required: ['keys'], properties: { keys: { type: 'array', items: { type: 'object' } } } }) } } } },
  '/v1/lti/scripts/{name}': {
    get: {
      summary: 'The LTI pages\' external scripts (login.js, launch.js, autopost.js)',
      parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string', enum: ['login.js', 'launch.js', 'autopost.js'] } }],
      responses: { '200': { description: 'JavaScript', content: { 'text/javascript': { schema: str } } }, '404': err('No such script') },
    },
  },
  '/v1/lti/login': {
    get: { summary: 'OIDC third-party-initiated login (LTI 1.3)', parameters: Object.keys(loginParams).map((name) => ({ name, in: 'query', required: ['iss', 'login_hint', 'target_link_uri'].includes(name), schema: str })), responses: loginResponses },
    post: { summary: 'OIDC third-party-initiated login (LTI 1.3), as a form post', requestBody: form(loginParams, ['iss', 'login_hint', 'target_link_uri']), responses: loginResponses },
  },
  '/v1/lti/launch': {
    post: {
      summary: 'The launch (OIDC form_post of the id_token): validated, then answered per message type',
      requestBody: form({ id_token: str, state: str }, ['id_token', 'state']),
      responses: { '200': html('The message\'s page: the recorder hand-off (meta ev-handoff), the staff sign-in, the exam picker, or the platform-storage confirmation'), ...launchRefusals },
    },
  },
  '/v1/lti/launch/confirm': {
    post: { summary: 'A launch whose state binding came back from platform storage', requestBody: form({ state: str, binding: str }, ['state', 'binding']), responses: { '200': html('As the launch'), ...launchRefusals } },
  },
  '/v1/lti/deep-linking/response': {
    post: {
      summary: 'The picked exam, answered as a signed LtiDeepLinkingResponse auto-posted to the platform',
      requestBody: form({ code: str, exam: str }, ['code', 'exam']),
      responses: { '200': html('An auto-posting form to deep_link_return_url'), '400': err('EV_ERR_LTI_CODE_INVALID'), '404': err('EV_ERR_LTI_EXAM_UNKNOWN') },
    },
  },
  '/v1/lti/proctoring/start': {
    post: {
      summary: 'After our checks, a signed LtiStartAssessment auto-posted to start_assessment_url',
      requestBody: codeForm,
      responses: { '200': html('An auto-posting form to start_assessment_url'), '400': err('EV_ERR_LTI_CODE_INVALID'), '409': err('The recorder has not taken the credential yet (EV_ERR_LTI_PROCTORING_NOT_READY)') },
    },
  },
  '/v1/lti/recorder': {
    post: {
      summary: 'A framed launch page\'s hand-off code, posted into a new window: the recorder opens there, top-level',
      description: 'Only from a form of an ExamVault page (Sec-Fetch-Site same-origin, or without it an Origin of ours). The code is checked (an unused, unexpired hand-off code) but not used: the recorder exchanges it at POST /v1/attempts/handoff.',
      requestBody: codeForm,
      responses: { '200': html('A page handing the code to /app/recorder/ through sessionStorage'), '400': err('EV_ERR_LTI_CODE_INVALID, EV_ERR_LTI_FOREIGN_ORIGIN') },
    },
  },
  '/v1/lti/staff/session': {
    post: {
      summary: 'A staff launch\'s one-time code, for a staff session (opened in a new window)',
      requestBody: codeForm,
      responses: { '303': { description: 'To /staff/, with the __Host-ev_session cookie' }, '400': err('EV_ERR_LTI_CODE_INVALID') },
    },
  },
  '/v1/attempts/handoff': {
    post: {
      summary: 'Exchange the launch page\'s one-time hand-off code (≤ 2 min, single use) for the attempt credential',
      requestBody: { required: true, content: json({ type: 'object', required: ['code'], properties: { code: str } }) },
      responses: {
        '200': { description: 'The attempt credential', content: json({ type: 'object', required: ['token', 'institution', 'region', 'exam', 'attempt', 'expiresAt', 'snapshotIntervalSeconds'], properties: { token: str, institution: str, region: str, exam: str, attempt: str, expiresAt: { type: 'integer' }, snapshotIntervalSeconds: { type: 'integer' } } }) },
        '400': err('EV_ERR_HANDOFF_INVALID'),
        '409': err('EV_ERR_HANDOFF_USED'),
        '410': err('EV_ERR_HANDOFF_EXPIRED'),
      },
    },
  },
} as const;
