//go:build race

package fuzz

const checkAllocs = false
