package policy

import "errors"

// Errors reported when a filter is built; requests never produce errors, only
// answers.
var (
	// ErrKeySyntax wraps every reason ParseKey rejects a key specification.
	ErrKeySyntax = errors.New("policy: invalid key")
	// ErrConfig wraps every reason a filter rejects its configuration.
	ErrConfig = errors.New("policy: invalid filter config")
)
