#!/usr/bin/env node
// Part of `npm run build`: tsc compiles only .ts, so the /admin page's static files
// (HTML, the browser ES module, CSS) are copied beside the compiled routes.
import { cpSync } from "node:fs";

cpSync("src/server/dashboard", "dist/server/dashboard", { recursive: true });
