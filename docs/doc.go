// Package docs holds the project's written documentation (rules.md, api.md,
// openapi.json, architecture.md and the other guides beside them) and the tests that
// keep it true: every example exchange of api.md is replayed against an in-process
// server, the OpenAPI description is compared with the routes the server registers and
// with the request types it decodes, the import rules of architecture.md are checked
// against the packages, every exported name must carry a doc comment, every rule ID
// cited anywhere must be defined in rules.md and every rule there checked by the
// conformance suite, and no file may point to a text outside the repository.
//
// The package has no code of its own and must not be imported. Its tests may import
// every package of the module; the package itself imports nothing.
package docs
