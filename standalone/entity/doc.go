// Package entity owns OpenWhisk's documents as Go values with exactly the JSON
// shapes the controller returns and that wsk and openwhisk-client-go parse:
// the action document (Action, Exec, Limits, KeyValues), the body of
// PUT /actions/NAME (ParseActionPut, ActionPut), the package document and
// its PUT body, bindings and their list and GET views (Package, PackagePut,
// MergeParameters: package < binding < action < invoke), sequences' fully
// qualified component names (ParseQualifiedName), triggers and rules
// (Trigger, Rule and their PUT bodies), the activation record
// (Activation, Response, the four statuses) and the summaries the list
// endpoints return. It also owns the names of the annotations an activation
// carries, OpenWhisk's and Epilogue's (completion, postResponseDuration,
// postResponseErrors), OpenWhisk's limits with their defaults and bounds, and
// the rules for names, versions, activation ids and binary code.
//
// It does not own persistence (standalone/store: versions and update times
// are set there), HTTP (status codes, query parameters, body size caps, the
// default namespace "_"), or running anything. It depends on the standard
// library only.
//
// Names with a package: the controller stores /guest/pkg/act with namespace
// "guest/pkg" and name "act", and so does this package: ParseActionPut(body,
// "guest", "pkg/act") and ParseActionPut(body, "guest/pkg", "act") give the
// same Action, whose Path is "guest/pkg/act".
package entity
