/** The help text, printed by `normkit --help` (to stdout) and by a bare `normkit` (to stderr). */
export const USAGE = `usage: normkit <command> [options]

commands:
  gradcheck [NAME|PATH ...] [--seed N] [--size example|large|all] [--variant-shapes one|all] [--order 1|2] [--json]
      check backward passes by finite differences: built-in plugins by name
      (all of them when none is named), or your ES module by path (its default
      export, or an export named "plugin")
  conformance [DIR] [--plugin PATH] [--dtype float64|float32] [--json]
      run the PyTorch test vectors through the matching built-in plugins (or
      through your plugin module, for the layer it declares): the vectors
      shipped in @normkit/conformance, or every *.json case in DIR
  state inspect FILE [--json] | state convert IN OUT
      list or convert a state dict file (.safetensors or .json)

options:
  -h, --help       show this help, or a command's (normkit gradcheck --help)
  -v, --version    print the version

exit codes: 0 all passed, 1 something failed, 2 bad arguments or input
`;

/** The help of each command, printed by `normkit COMMAND --help` and `normkit help COMMAND`. */
export const COMMAND_HELP: Readonly<Record<string, string>> = {
  gradcheck: `usage: normkit gradcheck [NAME|PATH ...] [--seed N] [--size example|large|all] [--variant-shapes one|all] [--order 1|2] [--json]

Checks backward passes against central finite differences of forward, for the input
and every parameter, in every mode, at each plugin's example options and shapes, plus
the contract checks (purity, determinism, linearity in dy, shapes and dtypes,
declared invariants), and their variants: float32 values against float64, inputs as
offset, permuted and reversed views, out buffers, declared dtype mixes, both modes and
the declared state update.

  NAME          a built-in plugin, e.g. batch-norm (all of them when none is given)
  PATH          your plugin: an ES module (.js or .mjs) whose default export, or
                export named "plugin", is made with defineNormalizer. TypeScript
                files must be compiled first (npx tsc), unless your Node strips types
                (Node >= 22.18 does).
  --seed N      draw other random points (default 0)
  --size S      example (default): the example shapes; large: the plugins'
                largeShapes(), in projection mode (the size-dependent fast paths);
                all: both
  --variant-shapes V
                one (default): the variant checks (float32, layouts, out, dtype
                mixes, state) at the last example shape of each option set; all:
                at every example shape (mode identity runs at every one anyway)
  --order N     1 (default); 2 checks each plugin's doubleBackward (the VJP of its
                backward) against finite differences of its backward, in float64
                at the shapes --size picks, plus float32 values and input layouts
                at the point (no dtype mixes); a plugin without one is listed as
                SKIP, not as a failure
  --json        print one JSON object instead of the table

Prints a table (one row per input or parameter checked), the details of any
failure, and a summary per plugin. Exit code 0 when everything passes, 1 otherwise.
`,
  conformance: `usage: normkit conformance [DIR] [--plugin PATH] [--dtype float64|float32] [--json]

Runs PyTorch 1.13.1 test vectors through the built-in plugin that implements each
case's layer, and compares outputs, gradients and running statistics at the vectors'
tolerances.

  DIR           a folder of *.json cases (default: the vectors shipped in
                @normkit/conformance)
  --plugin PATH your plugin module (its default export, or an export named
                "plugin"): only the cases of the PyTorch layer it declares in
                pytorch.layer run, through it
  --dtype T     run the plugins in float64 (default) or float32
  --json        print one JSON object instead of the lines

Prints one line per case and a summary per layer. A case is skipped when no built-in
plugin implements its layer. Exit code 0 when none fails, 1 otherwise.
`,
  state: `usage: normkit state inspect FILE [--json]
       normkit state convert IN OUT

  inspect       list a state dict file's entries (name, dtype, shape) and its metadata
  convert       convert between .safetensors and .json (chosen by the files' extensions);
                integer counters such as num_batches_tracked stay int64 in safetensors
  --json        print one JSON object instead of the table

Exit code 0 on success, 2 for a file that is not a valid state dict.
`,
};
