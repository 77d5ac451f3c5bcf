// Package appdir finds peerd's application data directory, where the
// programs look for the configuration file and the data directory by
// default.
//
// It follows btcutil.AppDataDir's layout (~/.peerd on Unix,
// ~/Library/Application Support/Peerd on macOS, %LOCALAPPDATA%\Peerd on
// Windows) but finds the home directory as Go's os.UserHomeDir does: from
// $HOME (%USERPROFILE% on Windows), not from the password file, so that
// HOME=/somewhere peerd keeps everything under /somewhere, as a user
// expects. Only when $HOME is unset does it ask the password file.
package appdir

import (
	"os"
	"os/user"
	"path/filepath"
	"runtime"
)

// Name is the application's name, as the directory is named.
const Name = "peerd"

// Dir is the application data directory, or "." when no home directory
// is known.
func Dir() string { return dir(runtime.GOOS, Home()) }

// Home is the current user's home directory: os.UserHomeDir, else the
// password file's entry; "" when neither knows.
func Home() string {
	if h, err := os.UserHomeDir(); err == nil && h != "" {
		return h
	}
	if u, err := user.Current(); err == nil {
		return u.HomeDir
	}
	return ""
}

func dir(goos, home string) string {
	switch goos {
	case "windows":
		appData := os.Getenv("LOCALAPPDATA")
		if appData == "" {
			appData = os.Getenv("APPDATA")
		}
		if appData != "" {
			return filepath.Join(appData, "Peerd")
		}
	case "darwin":
		if home != "" {
			return filepath.Join(home, "Library", "Application Support", "Peerd")
		}
	case "plan9":
		if home != "" {
			return filepath.Join(home, Name)
		}
	default:
		if home != "" {
			return filepath.Join(home, "."+Name)
		}
	}
	return "."
}
