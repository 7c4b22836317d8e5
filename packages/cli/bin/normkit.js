#!/usr/bin/env node
// The `normkit` command. A plain file (not built), so npm links it at install time;
// it runs the compiled CLI.
import '../dist/bin.js';
