package main

import "github.com/spf13/pflag"

type pflagFlag = pflag.Flag
