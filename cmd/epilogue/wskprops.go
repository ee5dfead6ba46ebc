package main

import (
	"bufio"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// wskProps returns wsk's properties (APIHOST, AUTH, ...) from
// $WSK_CONFIG_FILE, else ~/.wskprops, so that `epilogue tasks recover`
// talks to the OpenWhisk `wsk property set` configured. A missing file is
// no properties.
func wskProps(getenv func(string) string) (map[string]string, error) {
	path := getenv("WSK_CONFIG_FILE")
	if path == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return map[string]string{}, nil
		}
		path = filepath.Join(home, ".wskprops")
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseWskProps(f), nil
}

// parseWskProps reads KEY=VALUE lines as wsk writes them; other lines are
// ignored.
func parseWskProps(r io.Reader) map[string]string {
	props := map[string]string{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok && strings.TrimSpace(k) != "" {
			props[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return props
}
