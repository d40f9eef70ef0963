// Command summarize reads hyperfine's JSON export and prints, for each
// command, its median wall time and the ratio and difference against the
// first command (the baseline measured in the same run).
//
//	go run ./bench/summarize results.json
package main
