// A client on oauth4webapi (panva's OAuth 2 / OpenID Connect client) with DPoP (RFC 9449), one step per call so
// the Python test can play the user in between:
//
//   node dpop_client.mjs authorize '{"issuer", "client_id", "client_secret"?, "auth_method", "redirect_uri",
//                                    "scope", "bind_code"?}'
//     discovers the server, makes an ES256 key pair for DPoP and a code request with PKCE S256, a state and a
//     nonce (and dpop_jkt, the key's thumbprint, when "bind_code"); prints
//     {"authorization_url", "code_verifier", "state", "nonce", "dpop_private_jwk", "dpop_algs"}
//   node dpop_client.mjs redeem '{...the client as above, "callback_url", "code_verifier", "state", "nonce",
//                                 "dpop_private_jwk"}'
//     redeems the code with a DPoP proof, reads userinfo with the DPoP-bound token and a fresh proof, then
//     refreshes with a proof; each step is retried once with the server's nonce when it asks for one
//     (use_dpop_nonce). Prints {"token_type", "userinfo", "refreshed_token_type", "nonce_retries"}
//
// Any refusal prints {"error", "error_description", "status"?} and exits with 2.
import * as oauth from 'oauth4webapi'

const [command, input] = process.argv.slice(2)
const args = JSON.parse(input)
// The test servers listen on plain http on 127.0.0.1.
const insecure = { [oauth.allowInsecureRequests]: true }
const ES256 = { name: 'ECDSA', namedCurve: 'P-256' }
let nonceRetries = 0

function clientAuthentication() {
  if (args.auth_method === 'client_secret_basic') return oauth.ClientSecretBasic(args.client_secret)
  if (args.auth_method === 'client_secret_post') return oauth.ClientSecretPost(args.client_secret)
  return oauth.None()
}

async function discover() {
  const issuer = new URL(args.issuer)
  const response = await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...insecure })
  return oauth.processDiscoveryResponse(issuer, response)
}

async function importKeyPair(privateJwk) {
  const { d, key_ops: _, ...publicJwk } = privateJwk
  return {
    privateKey: await crypto.subtle.importKey('jwk', privateJwk, ES256, false, ['sign']),
    publicKey: await crypto.subtle.importKey('jwk', publicJwk, ES256, true, ['verify']),
  }
}

// RFC 9449 §8: a server that wants a nonce answers use_dpop_nonce with one; the handle keeps it, and the
// request is sent once more with a new proof.
async function withNonceRetry(step) {
  try {
    return await step()
  } catch (error) {
    if (!oauth.isDPoPNonceError(error)) throw error
    nonceRetries += 1
    return step()
  }
}

async function authorize(as, client) {
  const keyPair = await crypto.subtle.generateKey(ES256, true, ['sign', 'verify'])
  const codeVerifier = oauth.generateRandomCodeVerifier()
  const state = oauth.generateRandomState()
  const nonce = oauth.generateRandomNonce()
  const url = new URL(as.authorization_endpoint)
  url.searchParams.set('client_id', client.client_id)
  url.searchParams.set('redirect_uri', args.redirect_uri)
  url.searchParams.set('response_type', 'code')
  url.searchParams.set('scope', args.scope)
  url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(codeVerifier))
  url.searchParams.set('code_challenge_method', 'S256')
  url.searchParams.set('state', state)
  url.searchParams.set('nonce', nonce)
  if (args.bind_code) {
    // RFC 9449 §10: the code is bound to the key before any token request.
    url.searchParams.set('dpop_jkt', await oauth.DPoP(client, keyPair).calculateThumbprint())
  }
  return {
    authorization_url: url.href,
    code_verifier: codeVerifier,
    state,
    nonce,
    dpop_private_jwk: await crypto.subtle.exportKey('jwk', keyPair.privateKey),
    dpop_algs: as.dpop_signing_alg_values_supported,
  }
}

async function redeem(as, client) {
  const DPoP = oauth.DPoP(client, await importKeyPair(args.dpop_private_jwk))
  const callback = oauth.validateAuthResponse(as, client, new URL(args.callback_url), args.state)
  const tokens = await withNonceRetry(async () => {
    const response = await oauth.authorizationCodeGrantRequest(
      as, client, clientAuthentication(), callback, args.redirect_uri, args.code_verifier, { DPoP, ...insecure },
    )
    return oauth.processAuthorizationCodeResponse(as, client, response, { expectedNonce: args.nonce, requireIdToken: true })
  })
  const { sub } = oauth.getValidatedIdTokenClaims(tokens)
  const userinfo = await withNonceRetry(async () => {
    const response = await oauth.userInfoRequest(as, client, tokens.access_token, { DPoP, ...insecure })
    return oauth.processUserInfoResponse(as, client, sub, response)
  })
  const refreshed = await withNonceRetry(async () => {
    const response = await oauth.refreshTokenGrantRequest(
      as, client, clientAuthentication(), tokens.refresh_token, { DPoP, ...insecure },
    )
    return oauth.processRefreshTokenResponse(as, client, response)
  })
  return {
    token_type: tokens.token_type,
    userinfo,
    refreshed_token_type: refreshed.token_type,
    nonce_retries: nonceRetries,
  }
}

try {
  const as = await discover()
  const client = { client_id: args.client_id }
  const result = command === 'authorize' ? await authorize(as, client) : await redeem(as, client)
  process.stdout.write(JSON.stringify(result))
} catch (error) {
  process.stdout.write(JSON.stringify(await describe(error)))
  process.exit(2)
}

async function describe(error) {
  if (error instanceof oauth.ResponseBodyError) {
    return { error: error.error, error_description: error.error_description, status: error.status }
  }
  if (error instanceof oauth.WWWAuthenticateChallengeError) {
    return {
      error: error.cause[0]?.parameters.error,
      error_description: error.cause[0]?.parameters.error_description,
      status: error.status,
    }
  }
  return { error: error.code ?? error.name, error_description: error.message }
}
