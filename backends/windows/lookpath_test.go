package windows

import "testing"

func TestWinLookPath_UsesCommandPathAndPathext(t *testing.T) {
	files := map[string]bool{
		winKey(`C:\deny\ssh.bat`):                     true,
		winKey(`C:\Windows\System32\OpenSSH\ssh.exe`): true,
		winKey(`C:\Windows\System32\cmd.exe`):         true,
		winKey(`C:\work\tool.cmd`):                    true,
		winKey(`C:\tools\x.txt.exe`):                  true,
		winKey(`C:\work\bin\only-here.exe`):           true,
	}
	exists := func(p string) bool { return files[winKey(p)] }
	path := `C:\deny;"C:\Windows\System32\OpenSSH";C:\Windows\System32;C:\tools;bin;.`
	tests := []struct{ name, want string }{
		{"ssh", `C:\deny\ssh.bat`}, // the stub directory comes first
		{"ssh.exe", `C:\Windows\System32\OpenSSH\ssh.exe`},
		{"cmd", `C:\Windows\System32\cmd.exe`},
		{`.\tool`, `C:\work\tool.cmd`},
		{`C:\Windows\System32\cmd.exe`, `C:\Windows\System32\cmd.exe`},
		{"x.txt", `C:\tools\x.txt.exe`},
		{"missing", ""},
		// Relative PATH entries (bin, .) are skipped: only-here.exe sits in
		// C:\work\bin, relative to where the command starts.
		{"only-here", ""},
	}
	for _, tt := range tests {
		if got := winLookPath(tt.name, `C:\work`, path, ".BAT;.CMD;.COM;.EXE", exists); got != tt.want {
			t.Errorf("winLookPath(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}
