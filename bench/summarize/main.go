package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
)

type export struct {
	Results []struct {
		Command string    `json:"command"`
		Times   []float64 `json:"times"`
	} `json:"results"`
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: summarize HYPERFINE.json")
		os.Exit(2)
	}
	b, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var e export
	if err := json.Unmarshal(b, &e); err != nil || len(e.Results) == 0 {
		fmt.Fprintln(os.Stderr, "not a hyperfine JSON export:", err)
		os.Exit(1)
	}
	base := median(e.Results[0].Times) * 1000
	fmt.Printf("| command | median ms | × baseline | + ms over baseline |\n|---|---|---|---|\n")
	for _, r := range e.Results {
		m := median(r.Times) * 1000
		fmt.Printf("| `%s` | %.2f | %.1f | %+.2f |\n", r.Command, m, m/base, m-base)
	}
}
