#!/usr/bin/env node
// Committed launcher so the bin exists before the first build.
import '../dist/src/bin.js';
