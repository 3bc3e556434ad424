package limits

import (
	"errors"
	"fmt"
)

// Errors reported by this package. Decisions that carry an error are refusals:
// the package fails closed.
var (
	// ErrPolicyInvalid wraps every reason Policy.Validate rejects a policy.
	ErrPolicyInvalid = errors.New("limits: invalid policy")
	// ErrPolicyNotValidated is reported when a Policy is used before Validate
	// succeeded on it.
	ErrPolicyNotValidated = errors.New("limits: policy used before Validate")
	// ErrNegativeCount is reported for n < 0.
	ErrNegativeCount = errors.New("limits: negative unit count")
	// ErrExceedsBurst is reported when n is larger than a window's burst: the
	// request can never be admitted, so no Retry-After is given.
	ErrExceedsBurst = errors.New("limits: unit count exceeds burst")
	// ErrTooManyWindows is reported by NewMulti for more than MaxWindows
	// policies, and ErrNoWindows for none.
	ErrTooManyWindows = errors.New("limits: too many windows in one Multi")
	ErrNoWindows      = errors.New("limits: Multi needs at least one policy")
	// ErrTableConfig wraps every reason NewTable rejects its configuration.
	ErrTableConfig = errors.New("limits: invalid table config")
	// ErrConcurrencyConfig wraps every reason a concurrency limiter rejects
	// its configuration.
	ErrConcurrencyConfig = errors.New("limits: invalid concurrency config")
	// ErrRateSyntax wraps every reason ParseRate rejects its input; it is
	// also an ErrPolicyInvalid.
	ErrRateSyntax = fmt.Errorf("%w: rate syntax", ErrPolicyInvalid)
	// ErrKeyTooLong is reported for a key longer than TableConfig.MaxKeyLen;
	// the request is refused (fail closed) because the table could not bound
	// the memory a longer key would pin.
	ErrKeyTooLong = errors.New("limits: rate-limit key too long")
	// ErrReleaseWithoutAcquire is returned by Concurrency.Release when nothing
	// is in flight: a caller released twice.
	ErrReleaseWithoutAcquire = errors.New("limits: release without acquire")
)
