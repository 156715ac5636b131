package main

import "strings"

// wouldDo turns what an edit did ("approved X: …") into what a dry run
// would do ("would approve X: …").
func wouldDo(desc string) string {
	for past, verb := range map[string]string{"approved ": "approve ", "reset ": "reset ", "restored ": "restore ", "removed ": "remove "} {
		if rest, ok := strings.CutPrefix(desc, past); ok {
			return "would " + verb + rest
		}
	}
	return "would do: " + desc
}
