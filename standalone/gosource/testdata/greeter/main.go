package main

import "greeter/greet"

// Main is OpenWhisk's Go action shape, in a module with a package of its own.
func Main(obj map[string]interface{}) map[string]interface{} {
	return map[string]interface{}{"m": greet.Greet(obj)}
}
