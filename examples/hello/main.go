// Command hello is the smallest Epilogue action: it answers and is done. It
// shows that a plain synchronous handler needs nothing but sdk.Run.
//
//	{"name":"Mike"} → {"greeting":"Hello, Mike!"}
//	{}              → {"greeting":"Hello, world!"}
//
// Deploy it with:
//
//	epilogue build examples/hello -o hello.zip && wsk action create hello --docker epilogue/action-go hello.zip
package main

import (
	"context"

	"github.com/epilogue-dev/epilogue/sdk"
)

type params struct {
	Name string `json:"name"`
}

type result struct {
	Greeting string `json:"greeting"`
}

func greet(_ context.Context, in params) (result, error) {
	name := in.Name
	if name == "" {
		name = "world"
	}
	return result{Greeting: "Hello, " + name + "!"}, nil
}

func main() { sdk.Run(greet) }
