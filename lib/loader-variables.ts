/**
 * Environment variables that change how a program starts or what code it loads. A secret must never become
 * one: whoever may encrypt (developers, who are write-only) could otherwise run code inside the task and read
 * every secret there — `NODE_OPTIONS=--import=data:…`, `LD_PRELOAD`, `BASH_ENV`. The list is built from what
 * the dynamic loader, the shells and the language runtimes document; the tree, encrypt, synth, exec, write
 * and loadSecrets all ask this one module. An env's settings may allow a named variable explicitly.
 */

export interface LoaderVariableGroup {
  /** Who reads the variables, as docs/security.md lists them. */
  readonly reader: string;
  /** Exact names. */
  readonly names: readonly string[];
  /** Every name that starts with one of these. */
  readonly prefixes: readonly string[];
}

export const LOADER_VARIABLES: readonly LoaderVariableGroup[] = [
  {
    // ld.so(8), and the variables glibc drops for set-uid programs because they load code or data (UNSECURE_ENVVARS).
    reader: 'dynamic loader and C library (glibc, musl)',
    names: ['GCONV_PATH', 'GETCONF_DIR', 'GLIBC_TUNABLES', 'HOSTALIASES', 'LOCALDOMAIN', 'LOCPATH', 'MALLOC_TRACE', 'NIS_PATH',
      'NLSPATH', 'RESOLV_HOST_CONF', 'RES_OPTIONS', 'TMPDIR', 'TZDIR'],
    prefixes: ['LD_', 'DYLD_'],
  },
  {
    // bash(1) INVOCATION and Shell Variables, dash(1), zsh(1) STARTUP FILES.
    reader: 'shells (sh, bash, dash, zsh)',
    names: ['PATH', 'IFS', 'ENV', 'BASH_ENV', 'BASHOPTS', 'SHELLOPTS', 'PS4', 'PROMPT_COMMAND', 'CDPATH', 'ZDOTDIR'],
    prefixes: ['BASH_FUNC_'],
  },
  {
    reader: 'Node.js',
    names: ['NODE_OPTIONS', 'NODE_PATH', 'NODE_REPL_EXTERNAL_MODULE'],
    prefixes: [],
  },
  {
    // PYTHONPATH, PYTHONSTARTUP, PYTHONHOME, PYTHONWARNINGS (imports a category's module), PYTHONBREAKPOINT…
    reader: 'Python',
    names: [],
    prefixes: ['PYTHON'],
  },
  {
    reader: 'Perl',
    names: ['PERLLIB', 'PERLIO'],
    prefixes: ['PERL5'],
  },
  {
    reader: 'Ruby',
    names: ['RUBYOPT', 'RUBYLIB', 'GEM_HOME', 'GEM_PATH', 'BUNDLE_GEMFILE'],
    prefixes: [],
  },
  {
    reader: 'Java (the JVM and launcher scripts)',
    names: ['JAVA_TOOL_OPTIONS', '_JAVA_OPTIONS', 'JDK_JAVA_OPTIONS', 'JAVA_OPTS', 'CLASSPATH'],
    prefixes: [],
  },
  {
    reader: '.NET',
    names: ['DOTNET_STARTUP_HOOKS', 'DOTNET_ADDITIONAL_DEPS', 'COR_ENABLE_PROFILING', 'COR_PROFILER', 'COR_PROFILER_PATH'],
    prefixes: ['CORECLR_'],
  },
  {
    reader: 'PHP, Lua',
    names: ['PHPRC', 'PHP_INI_SCAN_DIR'],
    prefixes: ['LUA_'],
  },
  {
    // openssl-env(7): a configuration file can load engines and providers, which are shared libraries.
    reader: 'OpenSSL',
    names: ['OPENSSL_CONF', 'OPENSSL_ENGINES', 'OPENSSL_MODULES'],
    prefixes: [],
  },
];

/** The group that claims `variable`, or undefined when it is an ordinary variable. */
export function loaderVariableGroup(variable: string): LoaderVariableGroup | undefined {
  return LOADER_VARIABLES.find((group) => group.names.includes(variable) || group.prefixes.some((prefix) => variable.startsWith(prefix)));
}

/** Why a secret may not set `variable`, or undefined when it may (an ordinary variable, or one the settings allow). */
export function loaderVariableProblem(variable: string, allowed: readonly string[] = []): string | undefined {
  const group = loaderVariableGroup(variable);
  if (!group || allowed.includes(variable)) return undefined;
  return `${variable} changes how programs start or what code they load (${group.reader}); a secret that sets it would let `
    + `whoever may encrypt run code in the task. Rename the secret, or allow ${variable} explicitly in the env's settings (allowLoaderVariables)`;
}
