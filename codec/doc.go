// Package codec encrypts the payloads httpnode writes to Temporal (workflow and activity inputs and results, which
// hold HTTP request bodies; error messages and stack traces) with AES-256-GCM, and serves the remote codec that lets
// Temporal Web and the temporal CLI show them decrypted.
//
// # What is encrypted
//
// DataConverter(c) wraps the SDK's default data converter with a Codec: every payload it writes is replaced by one
// whose encoding is "binary/encrypted" and whose Data is a random 12-byte nonce followed by the AES-GCM sealing of
// the whole original payload, metadata included (so even its encoding, e.g. json/plain, is hidden). Only two things
// stay in clear: the encoding and the key id ("encryption-key-id"). Summaries of workflows, activities and timers
// (the labels of Temporal Web's timeline) are payloads too, so they are encrypted and shown only through the codec
// server. Workflow ids, types, task queues, activity types and search attributes are not payloads and are never
// encrypted: keep secrets out of them.
//
// Error messages are not payloads either. FailureConverter(c) moves the message and stack trace of every failure
// into Failure.EncodedAttributes, a payload encrypted like the others; the history then shows "Encoded failure".
// Error types (e.g. "HTTPStatus") and retry flags stay in clear, so parents and ops can still match on them.
//
// Every worker and client of the namespace must use the same converters, e.g.:
//
//	c, err := codec.New(key) // key from codec.ParseKey(id, os.Getenv(...))
//	opts := client.Options{DataConverter: codec.DataConverter(c), FailureConverter: codec.FailureConverter(c)}
//
// Decoding leaves payloads that are not "binary/encrypted" unchanged, so a worker that has just turned encryption on
// still reads histories written before; a worker without the key cannot read encrypted ones.
//
// # Keys, ids and rotation
//
// A key is 32 random bytes (head -c 32 /dev/urandom | base64) with a short id, written in clear into each payload.
// New(keys...) encrypts with the first key and decrypts with any: to rotate, put the new key first and keep the old
// ones after it until no history that uses them is read any more (retention has removed them, and no open workflow
// started before the rotation is still running). An id must always name the same secret; a payload whose key id
// is unknown, or that does not authenticate under its key (wrong secret, altered data or relabelled id), fails to
// decode with an error naming the key id. Rotate a key well before it has encrypted 2^32 payloads.
//
// # Codec server
//
// NewServer(c, ServerOptions{Token: ..., Origins: ...}) speaks the remote codec protocol: POST /encode and
// POST /decode with JSON {"payloads":[...]}. It needs a token, given either way:
//
//   - as a header, "Authorization: Bearer <token>": the temporal CLI sends it with
//     temporal workflow show --workflow-id ID --codec-endpoint http://127.0.0.1:8081 --codec-auth "Bearer <token>"
//   - as the first path segment, POST /<token>/decode: Temporal Web only appends /decode to its endpoint, and sends
//     no token of its own unless it has a login (its "pass access token" option sends the user's login token,
//     which is not this one), so give it the endpoint http://127.0.0.1:8081/<token>.
//
// For Temporal Web, set the endpoint in the UI (the "Codec Server" / data encoder setting: it is kept in the browser)
// or, for every user, in the ui-server configuration (codec.endpoint; TEMPORAL_CODEC_ENDPOINT in the Docker image),
// and list the UI's origin, as the browser sends it, in ServerOptions.Origins (e.g. "http://localhost:8233" and
// "http://127.0.0.1:8233" for the dev server): the browser calls the codec server directly, so the server answers
// CORS preflights (without a token, as browsers send none) for those origins only. "*" is not accepted. POSTs
// from other origins are refused; requests without an Origin (the CLI, curl) are not affected.
//
// Anyone with the token can decrypt any payload it is given: serve it on loopback or behind TLS, and treat the
// endpoint URL with the token in it as a secret. GET / and GET /healthz answer without a token, for health checks.
package codec
