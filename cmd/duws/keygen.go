package main

import (
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/duws/duws/builder/device"
	"github.com/duws/duws/builder/publish"
)

// runKeygen makes a signing key pair. With no prefix the private key goes
// to the user's configuration directory, never into the current one, which
// is often the policy repository (and so would be committed and pushed);
// the public key goes here, where duws verify --key duws.pub finds it.
func runKeygen(stdout io.Writer, prefix string) error {
	keyPath, pubPath := prefix+".key", prefix+".pub"
	if prefix == "" {
		cfg, err := os.UserConfigDir()
		if err != nil {
			return fmt.Errorf("keygen: no configuration directory for the private key (%v); give --out PREFIX", err)
		}
		dir := filepath.Join(cfg, "duws")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("keygen: %w", err)
		}
		keyPath, pubPath = filepath.Join(dir, "duws.key"), "duws.pub"
	}
	priv, pub, err := publish.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	if _, err := os.Stat(pubPath); err == nil {
		return fmt.Errorf("keygen: %s exists; not overwriting it", pubPath)
	}
	f, err := os.OpenFile(keyPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("keygen: %w (not overwriting a key)", err)
	}
	if _, err := f.Write(priv); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.WriteFile(pubPath, pub, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote the private key %s (keep it secret, out of the policy repository; duws build --sign %s)\n", keyPath, keyPath)
	fmt.Fprintf(stdout, "wrote the public key %s (commit it; duws verify --key %s SITE)\n", pubPath, pubPath)
	return nil
}

// checkDeviceFlags checks duws check's device flags before anything is
// sent, as the responder would read them.
func checkDeviceFlags(mac, serial string) error {
	if mac != "" {
		if _, err := device.NormalizeMAC(mac); err != nil {
			return usageErrorf("check: --mac: %v", err)
		}
	}
	if serial != "" {
		if _, err := device.NormalizeSerial(serial); err != nil {
			return usageErrorf("check: --serial: %v", err)
		}
	}
	return nil
}
