
use builtin;
use str;

set edit:completion:arg-completer[crux] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'crux'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'crux'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand mcp 'Manage MCP servers and their credentials'
            cand project 'Declare a project''s servers (crux.json) and generate its .mcp.json'
            cand backend 'Show the active keystore backend and why it was chosen, or change it'
            cand launch 'Start a server with its credentials in its environment (what the installed launcher runs)'
            cand bridge 'Connect stdio to a remote server''s Streamable HTTP endpoint with its OAuth token (what the bridge launcher runs)'
            cand headers 'Print a remote server''s auth headers as JSON, for hosts with a headers helper (prints the token: for programs, not terminals)'
            cand host 'Add crux''s servers to a host configured per user (Claude Desktop, Windsurf, Cline, and the user scope of Claude Code, Codex, Gemini CLI), or see which hosts this machine has'
            cand import 'Move the plaintext credentials of existing host configs into the keystore, or bring a crux-cli ~/.crux over'
            cand doctor 'Check everything a server needs to start, and say the fix for each problem'
            cand completions 'Print a shell completion script (bash, zsh, fish, elvish, powershell)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'crux;mcp'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand add 'Register a server: where it comes from and which credentials it needs'
            cand list 'List registered servers'
            cand show 'Show one server''s definition and credential status'
            cand remove 'Unregister a server and delete its stored credentials'
            cand bind 'Hand a server''s credentials stored before its registration (or for another definition) to the current one, after showing it in full'
            cand upgrade 'Re-pin installed servers to another version (default: the latest), or pin servers registered before crux pinned them'
            cand probe 'Connect to a server as an MCP client: initialize, list tools, sign in if it asks'
            cand auth 'Store, list or delete a server''s credentials'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'crux;mcp;add'= {
            cand --npx 'An npm package, PACKAGE[@VERSION] (default: the latest), installed at that exact version into CRUX_HOME/mcps/<MCP>'
            cand --uvx 'A PyPI package, PACKAGE[==VERSION] (default: the latest), installed into a virtual environment in CRUX_HOME/mcps/<MCP>'
            cand --bin 'The package''s program to run, when it has several'
            cand --command 'A program (on PATH or a path)'
            cand --local 'A local server: a .js/.py file or an executable'
            cand --url 'A remote server''s URL'
            cand --args 'Arguments for the server, as one shell-quoted string; ''{crux:VAR}'' of a --keychain variable is filled in at launch (that variable goes in the arguments, not the environment)'
            cand --tags 'Tags, comma-separated'
            cand --keychain 'Variables stored in the keystore; each is prompted for (hidden) unless given'
            cand --value 'A keychain variable''s value, VAR=VALUE (visible in shell history and `ps`)'
            cand --external-cli 'VAR=COMMAND: the command runs at every launch; its trimmed output becomes VAR'
            cand --setup-cmd 'A one-time interactive setup command, run by `crux mcp auth <MCP>`'
            cand --bearer 'The remote server takes a static token in a header: VAR is stored in the keystore (prompted, hidden)'
            cand --header-name 'With --bearer: the header to send it in'
            cand --header-prefix 'With --bearer: the word before the token ("" for none)'
            cand --client-id 'A client id registered with the authorization server beforehand (else crux registers one)'
            cand --scopes 'Scopes to ask for, space-separated (default: what the server''s challenge or metadata names)'
            cand --callback-port 'Fixed port for the loopback redirect (default: any free port)'
            cand --grant 'authorization-code (browser sign-in) or client-credentials (machine to machine)'
            cand --auth-method 'How the client authenticates to the token endpoint (private_key_jwt: crux generates an ES256 key)'
            cand --client-metadata-url 'HTTPS URL of a client ID metadata document, used as the client id where the server supports it'
            cand --env 'A non-secret setting for the server''s environment, NAME=VALUE (may repeat)'
            cand --allow-env 'Let the host''s value of a variable the launcher removes (it loads code: NODE_OPTIONS, LD_PRELOAD, …) reach the server'
            cand --no-install 'Do not install: run the package through npx/uvx at every start, which fetches whatever the registry (or the project folder) serves then'
            cand --allow-scripts 'Let the package''s install scripts run (npm lifecycle scripts; PyPI packages built from source)'
            cand --stdin 'Read the value of the single keychain variable from standard input'
            cand --oauth 'The remote server uses OAuth (sign in with: crux mcp auth <MCP>)'
            cand --client-secret-stdin 'Read the client secret of --client-id from standard input'
            cand --no-resource 'Do not send the RFC 8707 resource parameter (for servers that reject it)'
            cand --force 'Replace an existing registration'
            cand -y 'Hand credentials stored for this name before (for another definition, or before it was registered) to this registration without asking'
            cand --yes 'Hand credentials stored for this name before (for another definition, or before it was registered) to this registration without asking'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'crux;mcp;list'= {
            cand --json 'Print JSON'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'crux;mcp;show'= {
            cand --json 'Print JSON'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'crux;mcp;remove'= {
            cand -y 'Do not ask for confirmation'
            cand --yes 'Do not ask for confirmation'
            cand --keep-secrets 'Keep its credentials in the keystore'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'crux;mcp;bind'= {
            cand -y 'Do not ask for confirmation'
            cand --yes 'Do not ask for confirmation'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'crux;mcp;upgrade'= {
            cand --to 'The version to pin (default: the latest)'
            cand --all 'Every registered server'
            cand -y 'Do not ask for confirmation'
            cand --yes 'Do not ask for confirmation'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'crux;mcp;probe'= {
            cand --call 'Also call this tool'
            cand --arguments 'The tool''s arguments, a JSON object'
            cand --protocol 'Speak only this protocol version (default: find the server''s era, modern first)'
            cand --client-id 'A client id registered with the authorization server beforehand (else crux registers one)'
            cand --scopes 'Scopes to ask for, space-separated (default: what the server''s challenge or metadata names)'
            cand --callback-port 'Fixed port for the loopback redirect (default: any free port)'
            cand --grant 'authorization-code (browser sign-in) or client-credentials (machine to machine)'
            cand --auth-method 'How the client authenticates to the token endpoint (private_key_jwt: crux generates an ES256 key)'
            cand --client-metadata-url 'HTTPS URL of a client ID metadata document, used as the client id where the server supports it'
            cand --private-key-stdin 'With a URL: read a PEM private key (ES256, PKCS#8) for private_key_jwt from standard input'
            cand --client-secret-stdin 'Read the client secret of --client-id from standard input'
            cand --no-resource 'Do not send the RFC 8707 resource parameter (for servers that reject it)'
            cand --json 'Print JSON'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'crux;mcp;auth'= {
            cand --value 'Store VAR=VALUE; may repeat (values are visible in shell history and `ps`)'
            cand --stdin 'Read the value of VAR from standard input (one trailing newline is dropped)'
            cand --list 'List stored credentials (values are never shown)'
            cand --delete 'Delete MCP''s VAR from the keystore and the index'
            cand --refresh 'With MCP alone: prompt again for credentials already stored, and rerun its setup command'
            cand --all 'Every registered server that lacks a credential or its setup'
            cand --status 'Per server: auth type, stored keys, OAuth expiry, scopes, refresh token, last refresh'
            cand --refresh-all 'Refresh every OAuth token now'
            cand --dry-run 'With --refresh-all: show what would be refreshed'
            cand --revoke 'Revoke MCP''s OAuth tokens at the server (RFC 7009), then delete them here'
            cand --local 'With --revoke: only delete the tokens here, without telling the server'
            cand --reregister 'Sign in to MCP with a new dynamic client registration (when the server forgot crux''s client)'
            cand --show-public-key 'Print the public key (JWK) to register for private_key_jwt, creating the key if needed'
            cand --client-secret-stdin 'Store MCP''s OAuth client secret, read from standard input'
            cand --json 'With --list or --status: print JSON'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'crux;mcp;help'= {
            cand add 'Register a server: where it comes from and which credentials it needs'
            cand list 'List registered servers'
            cand show 'Show one server''s definition and credential status'
            cand remove 'Unregister a server and delete its stored credentials'
            cand bind 'Hand a server''s credentials stored before its registration (or for another definition) to the current one, after showing it in full'
            cand upgrade 'Re-pin installed servers to another version (default: the latest), or pin servers registered before crux pinned them'
            cand probe 'Connect to a server as an MCP client: initialize, list tools, sign in if it asks'
            cand auth 'Store, list or delete a server''s credentials'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'crux;mcp;help;add'= {
        }
        &'crux;mcp;help;list'= {
        }
        &'crux;mcp;help;show'= {
        }
        &'crux;mcp;help;remove'= {
        }
        &'crux;mcp;help;bind'= {
        }
        &'crux;mcp;help;upgrade'= {
        }
        &'crux;mcp;help;probe'= {
        }
        &'crux;mcp;help;auth'= {
        }
        &'crux;mcp;help;help'= {
        }
        &'crux;project'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand create 'Write a crux.json in this directory'
            cand install 'Add registered servers to crux.json and sync; with none, register what crux.json declares (shown in full, after you confirm)'
            cand uninstall 'Remove a server from crux.json and from .mcp.json'
            cand sync 'Regenerate the project''s host configs (.mcp.json and the others crux.json lists) from crux.json (names only, never values)'
            cand status 'Preflight: whether every server can start (credentials, commands, setup), and the fix for each gap'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'crux;project;create'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'crux;project;install'= {
            cand -y 'Register what crux.json declares without asking (for scripts; read it first)'
            cand --yes 'Register what crux.json declares without asking (for scripts; read it first)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'crux;project;uninstall'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'crux;project;sync'= {
            cand --host 'Also write this host''s config, and add it to crux.json''s "hosts" (repeatable)'
            cand --all 'Every tracked project on this machine'
            cand --headers-helper 'From now on, write remote servers with credentials as native `http` entries whose headers come from `crux headers` (Claude Code''s headersHelper)'
            cand --no-headers-helper 'From now on, start remote servers with credentials through the bridge launcher (the default)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'crux;project;status'= {
            cand --all 'Every tracked project on this machine'
            cand --json 'Print JSON'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'crux;project;help'= {
            cand create 'Write a crux.json in this directory'
            cand install 'Add registered servers to crux.json and sync; with none, register what crux.json declares (shown in full, after you confirm)'
            cand uninstall 'Remove a server from crux.json and from .mcp.json'
            cand sync 'Regenerate the project''s host configs (.mcp.json and the others crux.json lists) from crux.json (names only, never values)'
            cand status 'Preflight: whether every server can start (credentials, commands, setup), and the fix for each gap'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'crux;project;help;create'= {
        }
        &'crux;project;help;install'= {
        }
        &'crux;project;help;uninstall'= {
        }
        &'crux;project;help;sync'= {
        }
        &'crux;project;help;status'= {
        }
        &'crux;project;help;help'= {
        }
        &'crux;backend'= {
            cand --json 'Print JSON'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand set 'Save the backend crux uses from now on (CRUX_BACKEND still overrides it)'
            cand migrate 'Move every stored credential to another backend, then delete the old copies'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'crux;backend;set'= {
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'crux;backend;migrate'= {
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'crux;backend;help'= {
            cand set 'Save the backend crux uses from now on (CRUX_BACKEND still overrides it)'
            cand migrate 'Move every stored credential to another backend, then delete the old copies'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'crux;backend;help;set'= {
        }
        &'crux;backend;help;migrate'= {
        }
        &'crux;backend;help;help'= {
        }
        &'crux;launch'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'crux;bridge'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'crux;headers'= {
            cand --no-url-check 'For hosts that do not say where they send the headers: print them without that check (a project file could then send them elsewhere)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'crux;host'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand add 'Add entries for registered servers to a host''s user-wide config'
            cand remove 'Remove the entries crux wrote for these servers from a host''s user-wide config'
            cand list 'The hosts crux finds on this machine, and which of their servers come from crux (current or stale)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'crux;host;add'= {
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'crux;host;remove'= {
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'crux;host;list'= {
            cand --json 'Print JSON'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'crux;host;help'= {
            cand add 'Add entries for registered servers to a host''s user-wide config'
            cand remove 'Remove the entries crux wrote for these servers from a host''s user-wide config'
            cand list 'The hosts crux finds on this machine, and which of their servers come from crux (current or stale)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'crux;host;help;add'= {
        }
        &'crux;host;help;remove'= {
        }
        &'crux;host;help;list'= {
        }
        &'crux;host;help;help'= {
        }
        &'crux;import'= {
            cand --secret 'Treat this variable (or header, or flag) as a credential (repeatable; SERVER:NAME for one server)'
            cand --not-secret 'Keep this variable (or header, or flag) as a plain setting (repeatable; SERVER:NAME for one server)'
            cand --from 'Convert another tool''s CRUX_HOME instead of host configs'
            cand --all 'Every host (the default when no host is named)'
            cand --project 'Only the project files in the current directory (.mcp.json, .cursor/mcp.json, …)'
            cand --user 'Only the user-wide files (~/.claude.json, ~/.codex/config.toml, …)'
            cand --dry-run 'Show the plan and change nothing'
            cand -y 'Do not ask for confirmation (for scripts)'
            cand --yes 'Do not ask for confirmation (for scripts)'
            cand --json 'Print the plan and the result as JSON (values never included)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'crux;doctor'= {
            cand --live 'Also read every credential, refresh OAuth tokens, and start each server through its generated entry (initialize + tools/list)'
            cand --json 'Print JSON'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'crux;completions'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'crux;help'= {
            cand mcp 'Manage MCP servers and their credentials'
            cand project 'Declare a project''s servers (crux.json) and generate its .mcp.json'
            cand backend 'Show the active keystore backend and why it was chosen, or change it'
            cand launch 'Start a server with its credentials in its environment (what the installed launcher runs)'
            cand bridge 'Connect stdio to a remote server''s Streamable HTTP endpoint with its OAuth token (what the bridge launcher runs)'
            cand headers 'Print a remote server''s auth headers as JSON, for hosts with a headers helper (prints the token: for programs, not terminals)'
            cand host 'Add crux''s servers to a host configured per user (Claude Desktop, Windsurf, Cline, and the user scope of Claude Code, Codex, Gemini CLI), or see which hosts this machine has'
            cand import 'Move the plaintext credentials of existing host configs into the keystore, or bring a crux-cli ~/.crux over'
            cand doctor 'Check everything a server needs to start, and say the fix for each problem'
            cand completions 'Print a shell completion script (bash, zsh, fish, elvish, powershell)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'crux;help;mcp'= {
            cand add 'Register a server: where it comes from and which credentials it needs'
            cand list 'List registered servers'
            cand show 'Show one server''s definition and credential status'
            cand remove 'Unregister a server and delete its stored credentials'
            cand bind 'Hand a server''s credentials stored before its registration (or for another definition) to the current one, after showing it in full'
            cand upgrade 'Re-pin installed servers to another version (default: the latest), or pin servers registered before crux pinned them'
            cand probe 'Connect to a server as an MCP client: initialize, list tools, sign in if it asks'
            cand auth 'Store, list or delete a server''s credentials'
        }
        &'crux;help;mcp;add'= {
        }
        &'crux;help;mcp;list'= {
        }
        &'crux;help;mcp;show'= {
        }
        &'crux;help;mcp;remove'= {
        }
        &'crux;help;mcp;bind'= {
        }
        &'crux;help;mcp;upgrade'= {
        }
        &'crux;help;mcp;probe'= {
        }
        &'crux;help;mcp;auth'= {
        }
        &'crux;help;project'= {
            cand create 'Write a crux.json in this directory'
            cand install 'Add registered servers to crux.json and sync; with none, register what crux.json declares (shown in full, after you confirm)'
            cand uninstall 'Remove a server from crux.json and from .mcp.json'
            cand sync 'Regenerate the project''s host configs (.mcp.json and the others crux.json lists) from crux.json (names only, never values)'
            cand status 'Preflight: whether every server can start (credentials, commands, setup), and the fix for each gap'
        }
        &'crux;help;project;create'= {
        }
        &'crux;help;project;install'= {
        }
        &'crux;help;project;uninstall'= {
        }
        &'crux;help;project;sync'= {
        }
        &'crux;help;project;status'= {
        }
        &'crux;help;backend'= {
            cand set 'Save the backend crux uses from now on (CRUX_BACKEND still overrides it)'
            cand migrate 'Move every stored credential to another backend, then delete the old copies'
        }
        &'crux;help;backend;set'= {
        }
        &'crux;help;backend;migrate'= {
        }
        &'crux;help;launch'= {
        }
        &'crux;help;bridge'= {
        }
        &'crux;help;headers'= {
        }
        &'crux;help;host'= {
            cand add 'Add entries for registered servers to a host''s user-wide config'
            cand remove 'Remove the entries crux wrote for these servers from a host''s user-wide config'
            cand list 'The hosts crux finds on this machine, and which of their servers come from crux (current or stale)'
        }
        &'crux;help;host;add'= {
        }
        &'crux;help;host;remove'= {
        }
        &'crux;help;host;list'= {
        }
        &'crux;help;import'= {
        }
        &'crux;help;doctor'= {
        }
        &'crux;help;completions'= {
        }
        &'crux;help;help'= {
        }
    ]
    $completions[$command]
}
