//go:build !race

package fuzz

// checkAllocs turns on the zero-allocation assertions of the fuzz targets; the race detector
// allocates on its own, so race builds leave them out.
const checkAllocs = true
