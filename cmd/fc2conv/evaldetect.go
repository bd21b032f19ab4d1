package main

import "io"

func runEvalDetect(args []string, stdout, stderr io.Writer) int { return exitUsage }
