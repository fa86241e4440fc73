#!/bin/sh
# SPDX-License-Identifier: MIT
echo "SKIP: being written"; exit 77
