// Package frontagent is the agent's side of the front-end protocol
// (package front): a listener on the private socket that vets each peer,
// reads the request with the caller's standard streams, relays its
// signals, and sends the one answer. It is apart from package front so
// that the lean front end links neither net nor anything else only the
// agent needs. Linux only, like the agent.
package frontagent
