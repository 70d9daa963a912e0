// A relying party on oauth4webapi sending its authorization request as a signed request object (RFC 9101),
// pushed (RFC 9126) or by value, one step per call so the Python test can play the user in between:
//
//   node jar_client.mjs push   '{"issuer", "client_id", "client_secret"?, "auth_method", "private_jwk", "alg",
//                                "redirect_uri", "scope", "signed", "dpop"?}'
//     discovers the server; signs a code request (PKCE S256, state, nonce) as a request object with
//     private_jwk when "signed", and pushes it (or the plain parameters); prints
//     {"authorization_url", "code_verifier", "state", "nonce", "request_object"?, "dpop_jwk"?}
//   node jar_client.mjs by-value '{...as above}'
//     the same object, sent to the authorization endpoint in the request parameter beside client_id
//   node jar_client.mjs redeem '{...the client as above, "callback_url", "code_verifier", "state", "nonce"}'
//     checks the authorization response (state, iss) and redeems the code (with a DPoP proof of the key
//     of "dpop_jwk" when given); prints the token response
//   node jar_client.mjs refresh '{...the client as above, "refresh_token", "dpop_jwk"}'
//     refreshes with a DPoP proof of the key of "dpop_jwk"; prints the token response
//
// Client authentication is client_secret_basic or private_key_jwt (with private_jwk). Any refusal prints
// {"error", "error_description"} and exits with 2.
import * as oauth from 'oauth4webapi'

const [command, input] = process.argv.slice(2)
const args = JSON.parse(input)
// The test servers listen on plain http on 127.0.0.1.
const insecure = { [oauth.allowInsecureRequests]: true }

const KEY_ALGORITHMS = {
  RS256: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
  PS256: { name: 'RSA-PSS', hash: 'SHA-256' },
  ES256: { name: 'ECDSA', namedCurve: 'P-256' },
  EdDSA: { name: 'Ed25519' },
}

async function privateKey() {
  const { d, p, q, dp, dq, qi, kty, crv, n, e, x, y } = args.private_jwk
  const jwk = Object.fromEntries(Object.entries({ kty, crv, n, e, x, y, d, p, q, dp, dq, qi }).filter(([, v]) => v))
  const key = await crypto.subtle.importKey('jwk', jwk, KEY_ALGORITHMS[args.alg], false, ['sign'])
  return { key, kid: args.private_jwk.kid }
}

async function clientAuthentication() {
  if (args.auth_method === 'private_key_jwt') return oauth.PrivateKeyJwt(await privateKey())
  return oauth.ClientSecretBasic(args.client_secret)
}

async function discover() {
  const issuer = new URL(args.issuer)
  const response = await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...insecure })
  return oauth.processDiscoveryResponse(issuer, response)
}

async function dpopHandle(client, jwk) {
  const publicJwk = { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256' }
  const keyPair = {
    privateKey: await crypto.subtle.importKey('jwk', jwk, algorithm, false, ['sign']),
    publicKey: await crypto.subtle.importKey('jwk', publicJwk, algorithm, true, ['verify']),
  }
  return oauth.DPoP(client, keyPair)
}

async function request(as, client) {
  const codeVerifier = oauth.generateRandomCodeVerifier()
  const state = oauth.generateRandomState()
  const nonce = oauth.generateRandomNonce()
  const parameters = {
    redirect_uri: args.redirect_uri,
    scope: args.scope,
    response_type: 'code',
    code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  }
  const answer = { code_verifier: codeVerifier, state, nonce }
  if (!args.signed) return { parameters, answer }
  const requestObject = await oauth.issueRequestObject(as, client, parameters, await privateKey())
  return { parameters: { request: requestObject }, answer: { ...answer, request_object: requestObject } }
}

async function push(as, client) {
  const { parameters, answer } = await request(as, client)
  const response = await oauth.pushedAuthorizationRequest(as, client, await clientAuthentication(), parameters, insecure)
  const pushed = await oauth.processPushedAuthorizationResponse(as, client, response)
  const url = new URL(as.authorization_endpoint)
  url.searchParams.set('client_id', client.client_id)
  url.searchParams.set('request_uri', pushed.request_uri)
  return { ...answer, authorization_url: url.href, expires_in: pushed.expires_in }
}

async function byValue(as, client) {
  const { parameters, answer } = await request(as, client)
  const url = new URL(as.authorization_endpoint)
  url.searchParams.set('client_id', client.client_id)
  for (const [name, value] of Object.entries(parameters)) url.searchParams.set(name, value)
  return { ...answer, authorization_url: url.href }
}

async function redeem(as, client) {
  const callback = oauth.validateAuthResponse(as, client, new URL(args.callback_url), args.state)
  const options = { ...insecure }
  if (args.dpop_jwk) options.DPoP = await dpopHandle(client, args.dpop_jwk)
  const auth = await clientAuthentication()
  const grant = () => oauth.authorizationCodeGrantRequest(
    as, client, auth, callback, args.redirect_uri, args.code_verifier, options,
  )
  let response = await grant()
  try {
    return await oauth.processAuthorizationCodeResponse(as, client, response, { expectedNonce: args.nonce, requireIdToken: true })
  } catch (error) {
    // RFC 9449 §8: a server may ask for its nonce first; the handle has stored it, so one retry.
    if (!options.DPoP || !oauth.isDPoPNonceError(error)) throw error
  }
  response = await grant()
  return oauth.processAuthorizationCodeResponse(as, client, response, { expectedNonce: args.nonce, requireIdToken: true })
}

async function refresh(as, client) {
  const options = { ...insecure, DPoP: await dpopHandle(client, args.dpop_jwk) }
  const response = await oauth.refreshTokenGrantRequest(
    as, client, await clientAuthentication(), args.refresh_token, options,
  )
  return oauth.processRefreshTokenResponse(as, client, response)
}

const COMMANDS = { push, 'by-value': byValue, redeem, refresh }

try {
  const as = await discover()
  const client = { client_id: args.client_id }
  const result = await COMMANDS[command](as, client)
  process.stdout.write(JSON.stringify(result))
} catch (error) {
  process.stdout.write(JSON.stringify(await describe(error)))
  process.exit(2)
}

async function describe(error) {
  if (error instanceof oauth.ResponseBodyError) {
    return { error: error.error, error_description: error.error_description, status: error.status }
  }
  return { error: error.code ?? error.name, error_description: error.message }
}
