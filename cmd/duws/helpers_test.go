package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// httpDo sends a request as a phone or an administrator would, with Basic
// credentials when user is set, and returns the status and the body.
func httpDo(t *testing.T, client *http.Client, method, url, body, user, pass string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}
