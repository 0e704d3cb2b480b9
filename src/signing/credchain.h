/*
 * credchain.h - the gateway's AWS identity as deployments provide it: the standard
 * credential chain of the AWS SDKs, an optional break-glass role assumed on top of it,
 * and a refresher thread that renews temporary credentials before they expire.
 *
 * The chain, in botocore's order (botocore/credentials.py create_credential_resolver):
 *   1. environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
 *   2. the profile's role: role_arn with source_profile (static keys of that profile) or
 *      credential_source (Environment, EcsContainer, Ec2InstanceMetadata), STS AssumeRole
 *      signed with those credentials (external_id, role_session_name honoured)
 *   3. web identity: AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN [+ AWS_ROLE_SESSION_NAME],
 *      or the profile's web_identity_token_file + role_arn: STS AssumeRoleWithWebIdentity
 *      (unsigned)
 *   4. the shared credentials file (AWS_SHARED_CREDENTIALS_FILE, ~/.aws/credentials)
 *   5. the profile's credential_process (run without a shell; version 1 JSON)
 *   6. static keys in the config file (AWS_CONFIG_FILE, ~/.aws/config)
 *   7. container credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (169.254.170.2) or
 *      _FULL_URI (https, or http to a loopback, ECS or EKS Pod Identity address), with
 *      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE or _TOKEN as Authorization
 *   8. EC2 instance metadata, IMDSv2 only (token PUT, role, credentials), unless
 *      AWS_EC2_METADATA_DISABLED=true; AWS_EC2_METADATA_SERVICE_ENDPOINT overrides the
 *      address (tests). One attempt, BG_IMDS_TIMEOUT_MS.
 * The profile is AWS_PROFILE, else AWS_DEFAULT_PROFILE, else "default". A source that is
 * not configured passes to the next; a configured one that fails stops the chain with its
 * error, as botocore does (an unreachable instance metadata service counts as absent).
 * Not supported: SSO profiles, a source_profile that itself assumes a role, legacy boto2
 * files.
 *
 * STS is the regional endpoint https://sts.REGION.amazonaws.com unless AWS_ENDPOINT_URL_STS
 * (or AWS_ENDPOINT_URL) names another. Resolving does blocking I/O (HTTP with libcurl, a
 * child process): it runs at start-up and on the refresher thread, never on an event loop.
 * Secrets never reach a message; the access key id may.
 */
#ifndef BG_CREDCHAIN_H
#define BG_CREDCHAIN_H

#include <stdint.h>

#include "common/err.h"
#include "common/limits.h"
#include "signing/awscreds.h"

typedef struct credchain_opts {
	const char *region;       /* STS region (the gateway's); required */
	const char *role_arn;     /* a role to assume with the chain's credentials, or NULL */
	const char *external_id;  /* its ExternalId, or NULL */
	const char *session_name; /* its RoleSessionName; NULL: breakglass-HOSTNAME */
} credchain_opts;

/* Walks the chain once (and assumes o->role_arn with what it found). Returns 0 with *out
 * (its awscreds_source names the source, awscreds_expiry its expiry or 0), BG_ENOTFOUND
 * when no source is configured, or the failing source's error. */
int credchain_resolve(const credchain_opts *o, awscreds **out, bg_err *e) BG_MUST_CHECK;

typedef struct credchain credchain;

/* Copies o, resolves once (that must succeed: a gateway that starts without an identity
 * is misconfigured) and returns the holder. The refresher starts with credchain_start. */
int credchain_new(const credchain_opts *o, credchain **out, bg_err *e) BG_MUST_CHECK;

/* Logs (stderr) where the current credentials came from, their access key id and expiry;
 * never a secret. The refresher logs each renewal and failure itself. */
void credchain_log(credchain *c);

/* Starts the refresher thread: temporary credentials are renewed BG_CRED_REFRESH_BEFORE_S
 * plus jitter before they expire (at half their remaining life if that is sooner); a
 * failure is logged and retried with backoff while the current credentials last.
 * Returns 0 or BG_EIO. */
int credchain_start(credchain *c) BG_MUST_CHECK;

/* A reference to the current credentials (release with awscreds_free), or NULL when the
 * gateway has no valid identity (the last ones expired and no refresh succeeded). Never
 * waits for a refresh: a short lock around a pointer copy. */
awscreds *credchain_get(credchain *c);

typedef struct credchain_state {
	char source[256]; /* where the current credentials came from; "" if none */
	char access_key_id[BG_MAX_ACCESS_KEY_ID + 1];
	int64_t expires;      /* Unix seconds, 0 for long-term credentials */
	int64_t refreshed;    /* when they were obtained */
	char last_error[256]; /* the last failed refresh, "" after a success */
	int valid;            /* 1 when credchain_get would return credentials */
} credchain_state;

/* The identity's state for status pages and logs (no secret). */
void credchain_status(credchain *c, credchain_state *st);

/* Stops the refresher and releases the credentials. Accepts NULL. */
void credchain_free(credchain *c);

#endif
