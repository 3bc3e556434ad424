// Package config owns Sluice's configuration file: the strict YAML schema, the
// human units it uses (Duration, Size, Rate), validation with positioned errors,
// and the defaults every other package can rely on being filled in.
//
// Parse and Load return either a complete, validated *Config or a *Errors that
// lists every problem found, each as "FILE:LINE:COL: FIELD.PATH: message".
// A *Config is never modified after it is returned; reload builds a new one and
// swaps it whole, so any number of goroutines may read a Config concurrently.
package config
