// A relying party on oauth4webapi (panva's OAuth 2 / OpenID Connect client) using pushed authorization
// requests (RFC 9126), one step per call so the Python test can play the user in between:
//
//   node par_client.mjs push   '{"issuer", "client_id", "client_secret"?, "auth_method", "redirect_uri", "scope"}'
//     discovers the server, pushes a code request with PKCE S256, a state and a nonce, and prints
//     {"authorization_url", "request_uri", "expires_in", "code_verifier", "state", "nonce"}
//   node par_client.mjs redeem '{...the client as above, "callback_url", "code_verifier", "state", "nonce"}'
//     checks the authorization response (state, iss) and redeems the code; prints the token response
//
// Any refusal (an OAuth error from the server, a check of the library's) prints {"error", "error_description"}
// and exits with 2.
import * as oauth from 'oauth4webapi'

const [command, input] = process.argv.slice(2)
const args = JSON.parse(input)
// The test servers listen on plain http on 127.0.0.1.
const insecure = { [oauth.allowInsecureRequests]: true }

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

async function push(as, client) {
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
  const response = await oauth.pushedAuthorizationRequest(as, client, clientAuthentication(), parameters, insecure)
  const pushed = await oauth.processPushedAuthorizationResponse(as, client, response)
  // RFC 9126 §4: the authorization request carries only client_id and request_uri.
  const url = new URL(as.authorization_endpoint)
  url.searchParams.set('client_id', client.client_id)
  url.searchParams.set('request_uri', pushed.request_uri)
  return {
    authorization_url: url.href,
    request_uri: pushed.request_uri,
    expires_in: pushed.expires_in,
    code_verifier: codeVerifier,
    state,
    nonce,
  }
}

async function redeem(as, client) {
  const callback = oauth.validateAuthResponse(as, client, new URL(args.callback_url), args.state)
  const response = await oauth.authorizationCodeGrantRequest(
    as, client, clientAuthentication(), callback, args.redirect_uri, args.code_verifier, insecure,
  )
  return oauth.processAuthorizationCodeResponse(as, client, response, { expectedNonce: args.nonce, requireIdToken: true })
}

try {
  const as = await discover()
  const client = { client_id: args.client_id }
  const result = command === 'push' ? await push(as, client) : await redeem(as, client)
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
    // A 401 with a challenge: the library leaves the OAuth error body unread for the caller.
    const body = await error.response.json()
    return { ...body, status: error.status, challenge: error.cause.map((challenge) => challenge.scheme) }
  }
  return { error: error.code ?? error.name, error_description: error.message }
}
