
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'crux' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'crux'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'crux' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('mcp', 'mcp', [CompletionResultType]::ParameterValue, 'Manage MCP servers and their credentials')
            [CompletionResult]::new('project', 'project', [CompletionResultType]::ParameterValue, 'Declare a project''s servers (crux.json) and generate its .mcp.json')
            [CompletionResult]::new('backend', 'backend', [CompletionResultType]::ParameterValue, 'Show the active keystore backend and why it was chosen, or change it')
            [CompletionResult]::new('launch', 'launch', [CompletionResultType]::ParameterValue, 'Start a server with its credentials in its environment (what the installed launcher runs)')
            [CompletionResult]::new('bridge', 'bridge', [CompletionResultType]::ParameterValue, 'Connect stdio to a remote server''s Streamable HTTP endpoint with its OAuth token (what the bridge launcher runs)')
            [CompletionResult]::new('headers', 'headers', [CompletionResultType]::ParameterValue, 'Print a remote server''s auth headers as JSON, for hosts with a headers helper (prints the token: for programs, not terminals)')
            [CompletionResult]::new('host', 'host', [CompletionResultType]::ParameterValue, 'Add crux''s servers to a host configured per user (Claude Desktop, Windsurf, Cline, and the user scope of Claude Code, Codex, Gemini CLI), or see which hosts this machine has')
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Move the plaintext credentials of existing host configs into the keystore, or bring a crux-cli ~/.crux over')
            [CompletionResult]::new('doctor', 'doctor', [CompletionResultType]::ParameterValue, 'Check everything a server needs to start, and say the fix for each problem')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script (bash, zsh, fish, elvish, powershell)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'crux;mcp' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Register a server: where it comes from and which credentials it needs')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List registered servers')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show one server''s definition and credential status')
            [CompletionResult]::new('remove', 'remove', [CompletionResultType]::ParameterValue, 'Unregister a server and delete its stored credentials')
            [CompletionResult]::new('bind', 'bind', [CompletionResultType]::ParameterValue, 'Hand a server''s credentials stored before its registration (or for another definition) to the current one, after showing it in full')
            [CompletionResult]::new('upgrade', 'upgrade', [CompletionResultType]::ParameterValue, 'Re-pin installed servers to another version (default: the latest), or pin servers registered before crux pinned them')
            [CompletionResult]::new('probe', 'probe', [CompletionResultType]::ParameterValue, 'Connect to a server as an MCP client: initialize, list tools, sign in if it asks')
            [CompletionResult]::new('auth', 'auth', [CompletionResultType]::ParameterValue, 'Store, list or delete a server''s credentials')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'crux;mcp;add' {
            [CompletionResult]::new('--npx', '--npx', [CompletionResultType]::ParameterName, 'An npm package, PACKAGE[@VERSION] (default: the latest), installed at that exact version into CRUX_HOME/mcps/<MCP>')
            [CompletionResult]::new('--uvx', '--uvx', [CompletionResultType]::ParameterName, 'A PyPI package, PACKAGE[==VERSION] (default: the latest), installed into a virtual environment in CRUX_HOME/mcps/<MCP>')
            [CompletionResult]::new('--bin', '--bin', [CompletionResultType]::ParameterName, 'The package''s program to run, when it has several')
            [CompletionResult]::new('--command', '--command', [CompletionResultType]::ParameterName, 'A program (on PATH or a path)')
            [CompletionResult]::new('--local', '--local', [CompletionResultType]::ParameterName, 'A local server: a .js/.py file or an executable')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'A remote server''s URL')
            [CompletionResult]::new('--args', '--args', [CompletionResultType]::ParameterName, 'Arguments for the server, as one shell-quoted string; ''{crux:VAR}'' of a --keychain variable is filled in at launch (that variable goes in the arguments, not the environment)')
            [CompletionResult]::new('--tags', '--tags', [CompletionResultType]::ParameterName, 'Tags, comma-separated')
            [CompletionResult]::new('--keychain', '--keychain', [CompletionResultType]::ParameterName, 'Variables stored in the keystore; each is prompted for (hidden) unless given')
            [CompletionResult]::new('--value', '--value', [CompletionResultType]::ParameterName, 'A keychain variable''s value, VAR=VALUE (visible in shell history and `ps`)')
            [CompletionResult]::new('--external-cli', '--external-cli', [CompletionResultType]::ParameterName, 'VAR=COMMAND: the command runs at every launch; its trimmed output becomes VAR')
            [CompletionResult]::new('--setup-cmd', '--setup-cmd', [CompletionResultType]::ParameterName, 'A one-time interactive setup command, run by `crux mcp auth <MCP>`')
            [CompletionResult]::new('--bearer', '--bearer', [CompletionResultType]::ParameterName, 'The remote server takes a static token in a header: VAR is stored in the keystore (prompted, hidden)')
            [CompletionResult]::new('--header-name', '--header-name', [CompletionResultType]::ParameterName, 'With --bearer: the header to send it in')
            [CompletionResult]::new('--header-prefix', '--header-prefix', [CompletionResultType]::ParameterName, 'With --bearer: the word before the token ("" for none)')
            [CompletionResult]::new('--client-id', '--client-id', [CompletionResultType]::ParameterName, 'A client id registered with the authorization server beforehand (else crux registers one)')
            [CompletionResult]::new('--scopes', '--scopes', [CompletionResultType]::ParameterName, 'Scopes to ask for, space-separated (default: what the server''s challenge or metadata names)')
            [CompletionResult]::new('--callback-port', '--callback-port', [CompletionResultType]::ParameterName, 'Fixed port for the loopback redirect (default: any free port)')
            [CompletionResult]::new('--grant', '--grant', [CompletionResultType]::ParameterName, 'authorization-code (browser sign-in) or client-credentials (machine to machine)')
            [CompletionResult]::new('--auth-method', '--auth-method', [CompletionResultType]::ParameterName, 'How the client authenticates to the token endpoint (private_key_jwt: crux generates an ES256 key)')
            [CompletionResult]::new('--client-metadata-url', '--client-metadata-url', [CompletionResultType]::ParameterName, 'HTTPS URL of a client ID metadata document, used as the client id where the server supports it')
            [CompletionResult]::new('--env', '--env', [CompletionResultType]::ParameterName, 'A non-secret setting for the server''s environment, NAME=VALUE (may repeat)')
            [CompletionResult]::new('--allow-env', '--allow-env', [CompletionResultType]::ParameterName, 'Let the host''s value of a variable the launcher removes (it loads code: NODE_OPTIONS, LD_PRELOAD, …) reach the server')
            [CompletionResult]::new('--no-install', '--no-install', [CompletionResultType]::ParameterName, 'Do not install: run the package through npx/uvx at every start, which fetches whatever the registry (or the project folder) serves then')
            [CompletionResult]::new('--allow-scripts', '--allow-scripts', [CompletionResultType]::ParameterName, 'Let the package''s install scripts run (npm lifecycle scripts; PyPI packages built from source)')
            [CompletionResult]::new('--stdin', '--stdin', [CompletionResultType]::ParameterName, 'Read the value of the single keychain variable from standard input')
            [CompletionResult]::new('--oauth', '--oauth', [CompletionResultType]::ParameterName, 'The remote server uses OAuth (sign in with: crux mcp auth <MCP>)')
            [CompletionResult]::new('--client-secret-stdin', '--client-secret-stdin', [CompletionResultType]::ParameterName, 'Read the client secret of --client-id from standard input')
            [CompletionResult]::new('--no-resource', '--no-resource', [CompletionResultType]::ParameterName, 'Do not send the RFC 8707 resource parameter (for servers that reject it)')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Replace an existing registration')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Hand credentials stored for this name before (for another definition, or before it was registered) to this registration without asking')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Hand credentials stored for this name before (for another definition, or before it was registered) to this registration without asking')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'crux;mcp;list' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'crux;mcp;show' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'crux;mcp;remove' {
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation')
            [CompletionResult]::new('--keep-secrets', '--keep-secrets', [CompletionResultType]::ParameterName, 'Keep its credentials in the keystore')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'crux;mcp;bind' {
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'crux;mcp;upgrade' {
            [CompletionResult]::new('--to', '--to', [CompletionResultType]::ParameterName, 'The version to pin (default: the latest)')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Every registered server')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'crux;mcp;probe' {
            [CompletionResult]::new('--call', '--call', [CompletionResultType]::ParameterName, 'Also call this tool')
            [CompletionResult]::new('--arguments', '--arguments', [CompletionResultType]::ParameterName, 'The tool''s arguments, a JSON object')
            [CompletionResult]::new('--protocol', '--protocol', [CompletionResultType]::ParameterName, 'Speak only this protocol version (default: find the server''s era, modern first)')
            [CompletionResult]::new('--client-id', '--client-id', [CompletionResultType]::ParameterName, 'A client id registered with the authorization server beforehand (else crux registers one)')
            [CompletionResult]::new('--scopes', '--scopes', [CompletionResultType]::ParameterName, 'Scopes to ask for, space-separated (default: what the server''s challenge or metadata names)')
            [CompletionResult]::new('--callback-port', '--callback-port', [CompletionResultType]::ParameterName, 'Fixed port for the loopback redirect (default: any free port)')
            [CompletionResult]::new('--grant', '--grant', [CompletionResultType]::ParameterName, 'authorization-code (browser sign-in) or client-credentials (machine to machine)')
            [CompletionResult]::new('--auth-method', '--auth-method', [CompletionResultType]::ParameterName, 'How the client authenticates to the token endpoint (private_key_jwt: crux generates an ES256 key)')
            [CompletionResult]::new('--client-metadata-url', '--client-metadata-url', [CompletionResultType]::ParameterName, 'HTTPS URL of a client ID metadata document, used as the client id where the server supports it')
            [CompletionResult]::new('--private-key-stdin', '--private-key-stdin', [CompletionResultType]::ParameterName, 'With a URL: read a PEM private key (ES256, PKCS#8) for private_key_jwt from standard input')
            [CompletionResult]::new('--client-secret-stdin', '--client-secret-stdin', [CompletionResultType]::ParameterName, 'Read the client secret of --client-id from standard input')
            [CompletionResult]::new('--no-resource', '--no-resource', [CompletionResultType]::ParameterName, 'Do not send the RFC 8707 resource parameter (for servers that reject it)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'crux;mcp;auth' {
            [CompletionResult]::new('--value', '--value', [CompletionResultType]::ParameterName, 'Store VAR=VALUE; may repeat (values are visible in shell history and `ps`)')
            [CompletionResult]::new('--stdin', '--stdin', [CompletionResultType]::ParameterName, 'Read the value of VAR from standard input (one trailing newline is dropped)')
            [CompletionResult]::new('--list', '--list', [CompletionResultType]::ParameterName, 'List stored credentials (values are never shown)')
            [CompletionResult]::new('--delete', '--delete', [CompletionResultType]::ParameterName, 'Delete MCP''s VAR from the keystore and the index')
            [CompletionResult]::new('--refresh', '--refresh', [CompletionResultType]::ParameterName, 'With MCP alone: prompt again for credentials already stored, and rerun its setup command')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Every registered server that lacks a credential or its setup')
            [CompletionResult]::new('--status', '--status', [CompletionResultType]::ParameterName, 'Per server: auth type, stored keys, OAuth expiry, scopes, refresh token, last refresh')
            [CompletionResult]::new('--refresh-all', '--refresh-all', [CompletionResultType]::ParameterName, 'Refresh every OAuth token now')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'With --refresh-all: show what would be refreshed')
            [CompletionResult]::new('--revoke', '--revoke', [CompletionResultType]::ParameterName, 'Revoke MCP''s OAuth tokens at the server (RFC 7009), then delete them here')
            [CompletionResult]::new('--local', '--local', [CompletionResultType]::ParameterName, 'With --revoke: only delete the tokens here, without telling the server')
            [CompletionResult]::new('--reregister', '--reregister', [CompletionResultType]::ParameterName, 'Sign in to MCP with a new dynamic client registration (when the server forgot crux''s client)')
            [CompletionResult]::new('--show-public-key', '--show-public-key', [CompletionResultType]::ParameterName, 'Print the public key (JWK) to register for private_key_jwt, creating the key if needed')
            [CompletionResult]::new('--client-secret-stdin', '--client-secret-stdin', [CompletionResultType]::ParameterName, 'Store MCP''s OAuth client secret, read from standard input')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'With --list or --status: print JSON')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'crux;mcp;help' {
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Register a server: where it comes from and which credentials it needs')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List registered servers')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show one server''s definition and credential status')
            [CompletionResult]::new('remove', 'remove', [CompletionResultType]::ParameterValue, 'Unregister a server and delete its stored credentials')
            [CompletionResult]::new('bind', 'bind', [CompletionResultType]::ParameterValue, 'Hand a server''s credentials stored before its registration (or for another definition) to the current one, after showing it in full')
            [CompletionResult]::new('upgrade', 'upgrade', [CompletionResultType]::ParameterValue, 'Re-pin installed servers to another version (default: the latest), or pin servers registered before crux pinned them')
            [CompletionResult]::new('probe', 'probe', [CompletionResultType]::ParameterValue, 'Connect to a server as an MCP client: initialize, list tools, sign in if it asks')
            [CompletionResult]::new('auth', 'auth', [CompletionResultType]::ParameterValue, 'Store, list or delete a server''s credentials')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'crux;mcp;help;add' {
            break
        }
        'crux;mcp;help;list' {
            break
        }
        'crux;mcp;help;show' {
            break
        }
        'crux;mcp;help;remove' {
            break
        }
        'crux;mcp;help;bind' {
            break
        }
        'crux;mcp;help;upgrade' {
            break
        }
        'crux;mcp;help;probe' {
            break
        }
        'crux;mcp;help;auth' {
            break
        }
        'crux;mcp;help;help' {
            break
        }
        'crux;project' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Write a crux.json in this directory')
            [CompletionResult]::new('install', 'install', [CompletionResultType]::ParameterValue, 'Add registered servers to crux.json and sync; with none, register what crux.json declares (shown in full, after you confirm)')
            [CompletionResult]::new('uninstall', 'uninstall', [CompletionResultType]::ParameterValue, 'Remove a server from crux.json and from .mcp.json')
            [CompletionResult]::new('sync', 'sync', [CompletionResultType]::ParameterValue, 'Regenerate the project''s host configs (.mcp.json and the others crux.json lists) from crux.json (names only, never values)')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Preflight: whether every server can start (credentials, commands, setup), and the fix for each gap')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'crux;project;create' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'crux;project;install' {
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Register what crux.json declares without asking (for scripts; read it first)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Register what crux.json declares without asking (for scripts; read it first)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'crux;project;uninstall' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'crux;project;sync' {
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'Also write this host''s config, and add it to crux.json''s "hosts" (repeatable)')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Every tracked project on this machine')
            [CompletionResult]::new('--headers-helper', '--headers-helper', [CompletionResultType]::ParameterName, 'From now on, write remote servers with credentials as native `http` entries whose headers come from `crux headers` (Claude Code''s headersHelper)')
            [CompletionResult]::new('--no-headers-helper', '--no-headers-helper', [CompletionResultType]::ParameterName, 'From now on, start remote servers with credentials through the bridge launcher (the default)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'crux;project;status' {
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Every tracked project on this machine')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'crux;project;help' {
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Write a crux.json in this directory')
            [CompletionResult]::new('install', 'install', [CompletionResultType]::ParameterValue, 'Add registered servers to crux.json and sync; with none, register what crux.json declares (shown in full, after you confirm)')
            [CompletionResult]::new('uninstall', 'uninstall', [CompletionResultType]::ParameterValue, 'Remove a server from crux.json and from .mcp.json')
            [CompletionResult]::new('sync', 'sync', [CompletionResultType]::ParameterValue, 'Regenerate the project''s host configs (.mcp.json and the others crux.json lists) from crux.json (names only, never values)')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Preflight: whether every server can start (credentials, commands, setup), and the fix for each gap')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'crux;project;help;create' {
            break
        }
        'crux;project;help;install' {
            break
        }
        'crux;project;help;uninstall' {
            break
        }
        'crux;project;help;sync' {
            break
        }
        'crux;project;help;status' {
            break
        }
        'crux;project;help;help' {
            break
        }
        'crux;backend' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Save the backend crux uses from now on (CRUX_BACKEND still overrides it)')
            [CompletionResult]::new('migrate', 'migrate', [CompletionResultType]::ParameterValue, 'Move every stored credential to another backend, then delete the old copies')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'crux;backend;set' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'crux;backend;migrate' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'crux;backend;help' {
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Save the backend crux uses from now on (CRUX_BACKEND still overrides it)')
            [CompletionResult]::new('migrate', 'migrate', [CompletionResultType]::ParameterValue, 'Move every stored credential to another backend, then delete the old copies')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'crux;backend;help;set' {
            break
        }
        'crux;backend;help;migrate' {
            break
        }
        'crux;backend;help;help' {
            break
        }
        'crux;launch' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'crux;bridge' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'crux;headers' {
            [CompletionResult]::new('--no-url-check', '--no-url-check', [CompletionResultType]::ParameterName, 'For hosts that do not say where they send the headers: print them without that check (a project file could then send them elsewhere)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'crux;host' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Add entries for registered servers to a host''s user-wide config')
            [CompletionResult]::new('remove', 'remove', [CompletionResultType]::ParameterValue, 'Remove the entries crux wrote for these servers from a host''s user-wide config')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'The hosts crux finds on this machine, and which of their servers come from crux (current or stale)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'crux;host;add' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'crux;host;remove' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'crux;host;list' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'crux;host;help' {
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Add entries for registered servers to a host''s user-wide config')
            [CompletionResult]::new('remove', 'remove', [CompletionResultType]::ParameterValue, 'Remove the entries crux wrote for these servers from a host''s user-wide config')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'The hosts crux finds on this machine, and which of their servers come from crux (current or stale)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'crux;host;help;add' {
            break
        }
        'crux;host;help;remove' {
            break
        }
        'crux;host;help;list' {
            break
        }
        'crux;host;help;help' {
            break
        }
        'crux;import' {
            [CompletionResult]::new('--secret', '--secret', [CompletionResultType]::ParameterName, 'Treat this variable (or header, or flag) as a credential (repeatable; SERVER:NAME for one server)')
            [CompletionResult]::new('--not-secret', '--not-secret', [CompletionResultType]::ParameterName, 'Keep this variable (or header, or flag) as a plain setting (repeatable; SERVER:NAME for one server)')
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'Convert another tool''s CRUX_HOME instead of host configs')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Every host (the default when no host is named)')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Only the project files in the current directory (.mcp.json, .cursor/mcp.json, …)')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Only the user-wide files (~/.claude.json, ~/.codex/config.toml, …)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Show the plan and change nothing')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (for scripts)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (for scripts)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the plan and the result as JSON (values never included)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'crux;doctor' {
            [CompletionResult]::new('--live', '--live', [CompletionResultType]::ParameterName, 'Also read every credential, refresh OAuth tokens, and start each server through its generated entry (initialize + tools/list)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'crux;completions' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'crux;help' {
            [CompletionResult]::new('mcp', 'mcp', [CompletionResultType]::ParameterValue, 'Manage MCP servers and their credentials')
            [CompletionResult]::new('project', 'project', [CompletionResultType]::ParameterValue, 'Declare a project''s servers (crux.json) and generate its .mcp.json')
            [CompletionResult]::new('backend', 'backend', [CompletionResultType]::ParameterValue, 'Show the active keystore backend and why it was chosen, or change it')
            [CompletionResult]::new('launch', 'launch', [CompletionResultType]::ParameterValue, 'Start a server with its credentials in its environment (what the installed launcher runs)')
            [CompletionResult]::new('bridge', 'bridge', [CompletionResultType]::ParameterValue, 'Connect stdio to a remote server''s Streamable HTTP endpoint with its OAuth token (what the bridge launcher runs)')
            [CompletionResult]::new('headers', 'headers', [CompletionResultType]::ParameterValue, 'Print a remote server''s auth headers as JSON, for hosts with a headers helper (prints the token: for programs, not terminals)')
            [CompletionResult]::new('host', 'host', [CompletionResultType]::ParameterValue, 'Add crux''s servers to a host configured per user (Claude Desktop, Windsurf, Cline, and the user scope of Claude Code, Codex, Gemini CLI), or see which hosts this machine has')
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Move the plaintext credentials of existing host configs into the keystore, or bring a crux-cli ~/.crux over')
            [CompletionResult]::new('doctor', 'doctor', [CompletionResultType]::ParameterValue, 'Check everything a server needs to start, and say the fix for each problem')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script (bash, zsh, fish, elvish, powershell)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'crux;help;mcp' {
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Register a server: where it comes from and which credentials it needs')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List registered servers')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show one server''s definition and credential status')
            [CompletionResult]::new('remove', 'remove', [CompletionResultType]::ParameterValue, 'Unregister a server and delete its stored credentials')
            [CompletionResult]::new('bind', 'bind', [CompletionResultType]::ParameterValue, 'Hand a server''s credentials stored before its registration (or for another definition) to the current one, after showing it in full')
            [CompletionResult]::new('upgrade', 'upgrade', [CompletionResultType]::ParameterValue, 'Re-pin installed servers to another version (default: the latest), or pin servers registered before crux pinned them')
            [CompletionResult]::new('probe', 'probe', [CompletionResultType]::ParameterValue, 'Connect to a server as an MCP client: initialize, list tools, sign in if it asks')
            [CompletionResult]::new('auth', 'auth', [CompletionResultType]::ParameterValue, 'Store, list or delete a server''s credentials')
            break
        }
        'crux;help;mcp;add' {
            break
        }
        'crux;help;mcp;list' {
            break
        }
        'crux;help;mcp;show' {
            break
        }
        'crux;help;mcp;remove' {
            break
        }
        'crux;help;mcp;bind' {
            break
        }
        'crux;help;mcp;upgrade' {
            break
        }
        'crux;help;mcp;probe' {
            break
        }
        'crux;help;mcp;auth' {
            break
        }
        'crux;help;project' {
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Write a crux.json in this directory')
            [CompletionResult]::new('install', 'install', [CompletionResultType]::ParameterValue, 'Add registered servers to crux.json and sync; with none, register what crux.json declares (shown in full, after you confirm)')
            [CompletionResult]::new('uninstall', 'uninstall', [CompletionResultType]::ParameterValue, 'Remove a server from crux.json and from .mcp.json')
            [CompletionResult]::new('sync', 'sync', [CompletionResultType]::ParameterValue, 'Regenerate the project''s host configs (.mcp.json and the others crux.json lists) from crux.json (names only, never values)')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Preflight: whether every server can start (credentials, commands, setup), and the fix for each gap')
            break
        }
        'crux;help;project;create' {
            break
        }
        'crux;help;project;install' {
            break
        }
        'crux;help;project;uninstall' {
            break
        }
        'crux;help;project;sync' {
            break
        }
        'crux;help;project;status' {
            break
        }
        'crux;help;backend' {
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Save the backend crux uses from now on (CRUX_BACKEND still overrides it)')
            [CompletionResult]::new('migrate', 'migrate', [CompletionResultType]::ParameterValue, 'Move every stored credential to another backend, then delete the old copies')
            break
        }
        'crux;help;backend;set' {
            break
        }
        'crux;help;backend;migrate' {
            break
        }
        'crux;help;launch' {
            break
        }
        'crux;help;bridge' {
            break
        }
        'crux;help;headers' {
            break
        }
        'crux;help;host' {
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Add entries for registered servers to a host''s user-wide config')
            [CompletionResult]::new('remove', 'remove', [CompletionResultType]::ParameterValue, 'Remove the entries crux wrote for these servers from a host''s user-wide config')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'The hosts crux finds on this machine, and which of their servers come from crux (current or stale)')
            break
        }
        'crux;help;host;add' {
            break
        }
        'crux;help;host;remove' {
            break
        }
        'crux;help;host;list' {
            break
        }
        'crux;help;import' {
            break
        }
        'crux;help;doctor' {
            break
        }
        'crux;help;completions' {
            break
        }
        'crux;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
