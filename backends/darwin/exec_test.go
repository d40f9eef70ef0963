package darwin

import (
	"errors"
	"reflect"
	"testing"
)

func TestCommandLine_ProfileParamsThenCommandAfterDashDash(t *testing.T) {
	prof := &Profile{Text: "(version 1)", Params: []Param{{"WRITABLE_ROOT_0", "/a=b"}, {"TMP_DIR_0", "/private/tmp"}}}
	got := commandLine(prof, []string{"-rf", "x y"})
	want := []string{SandboxExec, "-p", "(version 1)", "-D", "WRITABLE_ROOT_0=/a=b", "-D", "TMP_DIR_0=/private/tmp", "--", "-rf", "x y"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("commandLine = %q, want %q", got, want)
	}
}

func TestHelperArgs_RoundTrip(t *testing.T) {
	in := helperArgs{extraProcs: 64, argv: []string{SandboxExec, "-p", "x", "--", "-nproc", "--"}}
	line := helperCommandLine("/opt/sbx/sbx-backend-darwin", in)
	if line[0] != "/opt/sbx/sbx-backend-darwin" || line[1] != HelperRole {
		t.Fatalf("helper command line %q", line)
	}
	got, err := parseHelperArgs(line[2:])
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, in) {
		t.Errorf("parsed %+v, want %+v", got, in)
	}
}

func TestHelperArgs_BadUsageIsRefused(t *testing.T) {
	for _, args := range [][]string{
		nil,
		{"--"},
		{"-nproc"},
		{"-nproc", "-3", "--", "x"},
		{"-nproc", "many", "--", "x"},
		{"-mem", "1", "--", "x"},
		{"-nproc", "3", "x"},
	} {
		if _, err := parseHelperArgs(args); !errors.Is(err, errHelperUsage) {
			t.Errorf("parseHelperArgs(%q) = %v, want a usage error", args, err)
		}
	}
}

func TestNprocLimit_OthersPlusExtra(t *testing.T) {
	tests := []struct {
		current int
		extra   int64
		want    uint64
	}{
		{current: 300, extra: 10, want: 309}, // 299 others + 10 for the tree
		{current: 1, extra: 1, want: 1},
		{current: 0, extra: 5, want: 5},
	}
	for _, tt := range tests {
		if got := nprocLimit(tt.current, tt.extra); got != tt.want {
			t.Errorf("nprocLimit(%d, %d) = %d, want %d", tt.current, tt.extra, got, tt.want)
		}
	}
}

func TestTreeOf_GroupAndDescendants(t *testing.T) {
	procs := []procEntry{
		{pid: 1, ppid: 0, pgid: 1},
		{pid: 100, ppid: 50, pgid: 100},  // the command (session and group leader)
		{pid: 101, ppid: 100, pgid: 100}, // child
		{pid: 102, ppid: 101, pgid: 102}, // grandchild that called setsid
		{pid: 103, ppid: 102, pgid: 102}, // its child
		{pid: 104, ppid: 1, pgid: 100},   // orphan still in the group
		{pid: 105, ppid: 104, pgid: 105}, // orphan's setsid child
		{pid: 200, ppid: 1, pgid: 200},   // unrelated daemon
		{pid: 201, ppid: 200, pgid: 200}, // its child
		{pid: 300, ppid: 50, pgid: 50},   // the command's sibling
	}
	if got, want := treeOf(procs, 100, true), []int{101, 102, 103, 104, 105}; !reflect.DeepEqual(got, want) {
		t.Errorf("alive: %v, want %v", got, want)
	}
	// The command exited: its pid may be reused, so only the group and
	// what descends from it count. 101 was reparented to launchd and
	// stays in the group.
	exited := append([]procEntry(nil), procs[:1]...)
	exited = append(exited, procEntry{pid: 101, ppid: 1, pgid: 100})
	exited = append(exited, procs[3:]...)
	exited = append(exited, procEntry{pid: 100, ppid: 77, pgid: 100 /* impossible but harmless */})
	if got, want := treeOf(exited, 100, false), []int{101, 102, 103, 104, 105}; !reflect.DeepEqual(got, want) {
		t.Errorf("exited: %v, want %v", got, want)
	}
	// A reused pid with children of its own: not followed.
	reused := []procEntry{{pid: 100, ppid: 1, pgid: 900}, {pid: 901, ppid: 100, pgid: 900}}
	if got := treeOf(reused, 100, false); len(got) != 0 {
		t.Errorf("reused pid: %v, want nothing", got)
	}
}
