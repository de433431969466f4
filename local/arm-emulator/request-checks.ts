import type { BackendScope, BackendTarget } from '../../shared/domain/backend-id';
import { armError, validationError, type EmulatorResponse } from './arm-error';

/**
 * Checks the bearer token. Both a missing header and a wrong token answer 401 `AuthenticationFailed`, with the
 * `WWW-Authenticate` challenge ARM sends. Undefined when the token is right.
 */
export function checkAuthorization(header: string | undefined, token: string): EmulatorResponse | undefined {
  const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (match?.[1] === token) return undefined;
  const message =
    header === undefined
      ? "Authentication failed. The 'Authorization' header is missing."
      : "Authentication failed. The 'Authorization' header is provided in an invalid format or the token is invalid.";
  const response = armError(401, 'AuthenticationFailed', message);
  response.headers['WWW-Authenticate'] =
    'Bearer authorization_uri="https://login.windows.net/", error="invalid_token", error_description="The authentication failed."';
  return response;
}

const API_VERSION = /^\d{4}-\d{2}-\d{2}(-preview)?$/;

/** Checks `api-version`: required, and shaped like `2024-05-01` or `2023-05-01-preview`. */
export function checkApiVersion(
  apiVersion: string | null,
): { ok: true; apiVersion: string } | { ok: false; error: EmulatorResponse } {
  if (apiVersion === null || apiVersion === '') {
    const error = armError(
      400,
      'MissingApiVersionParameter',
      'The api-version query parameter (?api-version=) is required for all requests.',
    );
    return { ok: false, error };
  }
  if (!API_VERSION.test(apiVersion)) {
    return {
      ok: false,
      error: armError(400, 'InvalidApiVersionParameter', `The api-version '${apiVersion}' is invalid.`),
    };
  }
  return { ok: true, apiVersion };
}

/** Workspace backends exist from api-version 2023-09-01-preview on; older versions have no such resource type. */
export function checkWorkspaceApiVersion(scope: BackendScope, apiVersion: string): EmulatorResponse | undefined {
  if (scope.workspaceId === undefined || apiVersion.slice(0, 10) >= '2023-09-01') return undefined;
  return armError(
    400,
    'NoRegisteredProviderFound',
    `No registered resource provider found for API version '${apiVersion}' and type 'service/workspaces/backends'.`,
  );
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SERVICE_NAME = /^[a-zA-Z](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$/;
const WORKSPACE_ID = /^[^*#&+:<>?]+$/;

/** Checks the path parameters against the 2024-05-01 constraints. */
export function checkPathParameters(scope: BackendScope | BackendTarget): EmulatorResponse | undefined {
  if (!UUID.test(scope.subscriptionId)) {
    return armError(
      400,
      'InvalidSubscriptionId',
      `The provided subscription identifier '${scope.subscriptionId}' is malformed or invalid.`,
    );
  }
  const details: Array<{ code: string; target: string; message: string }> = [];
  const bad = (target: string, message: string): void => {
    details.push({ code: 'ValidationError', target, message });
  };
  if (scope.resourceGroupName.length < 1 || scope.resourceGroupName.length > 90) {
    bad('resourceGroupName', "'resourceGroupName' must be between 1 and 90 characters long.");
  }
  if (scope.serviceName.length > 50 || !SERVICE_NAME.test(scope.serviceName)) {
    bad('serviceName', "'serviceName' must match ^[a-zA-Z](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$ and be at most 50 long.");
  }
  if (scope.workspaceId !== undefined && (scope.workspaceId.length > 80 || !WORKSPACE_ID.test(scope.workspaceId))) {
    bad('workspaceId', "'workspaceId' must match ^[^*#&+:<>?]+$ and be between 1 and 80 characters long.");
  }
  if ('backendId' in scope && (scope.backendId.length < 1 || scope.backendId.length > 80)) {
    bad('backendId', "'backendId' must be between 1 and 80 characters long.");
  }
  return details.length > 0 ? validationError(details) : undefined;
}
