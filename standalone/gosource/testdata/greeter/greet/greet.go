// Package greet is the greeter action's own package.
package greet

// Greet greets obj's name.
func Greet(obj map[string]interface{}) string {
	name, _ := obj["name"].(string)
	return "hey " + name
}
