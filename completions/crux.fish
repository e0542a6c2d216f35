# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_crux_global_optspecs
    string join \n h/help V/version
end

function __fish_crux_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_crux_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_crux_using_subcommand
    set -l cmd (__fish_crux_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c crux -n "__fish_crux_needs_command" -s h -l help -d 'Print help'
complete -c crux -n "__fish_crux_needs_command" -s V -l version -d 'Print version'
complete -c crux -n "__fish_crux_needs_command" -f -a "mcp" -d 'Manage MCP servers and their credentials'
complete -c crux -n "__fish_crux_needs_command" -f -a "project" -d 'Declare a project\'s servers (crux.json) and generate its .mcp.json'
complete -c crux -n "__fish_crux_needs_command" -f -a "backend" -d 'Show the active keystore backend and why it was chosen, or change it'
complete -c crux -n "__fish_crux_needs_command" -f -a "launch" -d 'Start a server with its credentials in its environment (what the installed launcher runs)'
complete -c crux -n "__fish_crux_needs_command" -f -a "bridge" -d 'Connect stdio to a remote server\'s Streamable HTTP endpoint with its OAuth token (what the bridge launcher runs)'
complete -c crux -n "__fish_crux_needs_command" -f -a "headers" -d 'Print a remote server\'s auth headers as JSON, for hosts with a headers helper (prints the token: for programs, not terminals)'
complete -c crux -n "__fish_crux_needs_command" -f -a "host" -d 'Add crux\'s servers to a host configured per user (Claude Desktop, Windsurf, Cline, and the user scope of Claude Code, Codex, Gemini CLI), or see which hosts this machine has'
complete -c crux -n "__fish_crux_needs_command" -f -a "import" -d 'Move the plaintext credentials of existing host configs into the keystore, or bring a crux-cli ~/.crux over'
complete -c crux -n "__fish_crux_needs_command" -f -a "doctor" -d 'Check everything a server needs to start, and say the fix for each problem'
complete -c crux -n "__fish_crux_needs_command" -f -a "completions" -d 'Print a shell completion script (bash, zsh, fish, elvish, powershell)'
complete -c crux -n "__fish_crux_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c crux -n "__fish_crux_using_subcommand mcp; and not __fish_seen_subcommand_from add list show remove bind upgrade probe auth help" -s h -l help -d 'Print help'
complete -c crux -n "__fish_crux_using_subcommand mcp; and not __fish_seen_subcommand_from add list show remove bind upgrade probe auth help" -s V -l version -d 'Print version'
complete -c crux -n "__fish_crux_using_subcommand mcp; and not __fish_seen_subcommand_from add list show remove bind upgrade probe auth help" -f -a "add" -d 'Register a server: where it comes from and which credentials it needs'
complete -c crux -n "__fish_crux_using_subcommand mcp; and not __fish_seen_subcommand_from add list show remove bind upgrade probe auth help" -f -a "list" -d 'List registered servers'
complete -c crux -n "__fish_crux_using_subcommand mcp; and not __fish_seen_subcommand_from add list show remove bind upgrade probe auth help" -f -a "show" -d 'Show one server\'s definition and credential status'
complete -c crux -n "__fish_crux_using_subcommand mcp; and not __fish_seen_subcommand_from add list show remove bind upgrade probe auth help" -f -a "remove" -d 'Unregister a server and delete its stored credentials'
complete -c crux -n "__fish_crux_using_subcommand mcp; and not __fish_seen_subcommand_from add list show remove bind upgrade probe auth help" -f -a "bind" -d 'Hand a server\'s credentials stored before its registration (or for another definition) to the current one, after showing it in full'
complete -c crux -n "__fish_crux_using_subcommand mcp; and not __fish_seen_subcommand_from add list show remove bind upgrade probe auth help" -f -a "upgrade" -d 'Re-pin installed servers to another version (default: the latest), or pin servers registered before crux pinned them'
complete -c crux -n "__fish_crux_using_subcommand mcp; and not __fish_seen_subcommand_from add list show remove bind upgrade probe auth help" -f -a "probe" -d 'Connect to a server as an MCP client: initialize, list tools, sign in if it asks'
complete -c crux -n "__fish_crux_using_subcommand mcp; and not __fish_seen_subcommand_from add list show remove bind upgrade probe auth help" -f -a "auth" -d 'Store, list or delete a server\'s credentials'
complete -c crux -n "__fish_crux_using_subcommand mcp; and not __fish_seen_subcommand_from add list show remove bind upgrade probe auth help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from add" -l npx -d 'An npm package, PACKAGE[@VERSION] (default: the latest), installed at that exact version into CRUX_HOME/mcps/<MCP>' -r
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from add" -l uvx -d 'A PyPI package, PACKAGE[==VERSION] (default: the latest), installed into a virtual environment in CRUX_HOME/mcps/<MCP>' -r
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from add" -l bin -d 'The package\'s program to run, when it has several' -r
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from add" -l command -d 'A program (on PATH or a path)' -r
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from add" -l local -d 'A local server: a .js/.py file or an executable' -r -F
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from add" -l url -d 'A remote server\'s URL' -r
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from add" -l args -d 'Arguments for the server, as one shell-quoted string; \'{crux:VAR}\' of a --keychain variable is filled in at launch (that variable goes in the arguments, not the environment)' -r
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from add" -l tags -d 'Tags, comma-separated' -r
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from add" -l keychain -d 'Variables stored in the keystore; each is prompted for (hidden) unless given' -r
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from add" -l value -d 'A keychain variable\'s value, VAR=VALUE (visible in shell history and `ps`)' -r
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from add" -l external-cli -d 'VAR=COMMAND: the command runs at every launch; its trimmed output becomes VAR' -r
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from add" -l setup-cmd -d 'A one-time interactive setup command, run by `crux mcp auth <MCP>`' -r
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from add" -l bearer -d 'The remote server takes a static token in a header: VAR is stored in the keystore (prompted, hidden)' -r
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from add" -l header-name -d 'With --bearer: the header to send it in' -r
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from add" -l header-prefix -d 'With --bearer: the word before the token ("" for none)' -r
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from add" -l client-id -d 'A client id registered with the authorization server beforehand (else crux registers one)' -r
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from add" -l scopes -d 'Scopes to ask for, space-separated (default: what the server\'s challenge or metadata names)' -r
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from add" -l callback-port -d 'Fixed port for the loopback redirect (default: any free port)' -r
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from add" -l grant -d 'authorization-code (browser sign-in) or client-credentials (machine to machine)' -r -f -a "authorization-code\t'Authorization code with PKCE, in the browser'
client-credentials\t'Client credentials, for machine-to-machine servers'"
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from add" -l auth-method -d 'How the client authenticates to the token endpoint (private_key_jwt: crux generates an ES256 key)' -r -f -a "none\t''
client_secret_basic\t''
client_secret_post\t''
private_key_jwt\t''"
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from add" -l client-metadata-url -d 'HTTPS URL of a client ID metadata document, used as the client id where the server supports it' -r
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from add" -l env -d 'A non-secret setting for the server\'s environment, NAME=VALUE (may repeat)' -r
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from add" -l allow-env -d 'Let the host\'s value of a variable the launcher removes (it loads code: NODE_OPTIONS, LD_PRELOAD, …) reach the server' -r
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from add" -l no-install -d 'Do not install: run the package through npx/uvx at every start, which fetches whatever the registry (or the project folder) serves then'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from add" -l allow-scripts -d 'Let the package\'s install scripts run (npm lifecycle scripts; PyPI packages built from source)'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from add" -l stdin -d 'Read the value of the single keychain variable from standard input'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from add" -l oauth -d 'The remote server uses OAuth (sign in with: crux mcp auth <MCP>)'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from add" -l client-secret-stdin -d 'Read the client secret of --client-id from standard input'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from add" -l no-resource -d 'Do not send the RFC 8707 resource parameter (for servers that reject it)'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from add" -l force -d 'Replace an existing registration'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from add" -s y -l yes -d 'Hand credentials stored for this name before (for another definition, or before it was registered) to this registration without asking'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from add" -s V -l version -d 'Print version'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from list" -l json -d 'Print JSON'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from show" -l json -d 'Print JSON'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from remove" -s y -l yes -d 'Do not ask for confirmation'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from remove" -l keep-secrets -d 'Keep its credentials in the keystore'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from remove" -s V -l version -d 'Print version'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from bind" -s y -l yes -d 'Do not ask for confirmation'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from bind" -s h -l help -d 'Print help'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from bind" -s V -l version -d 'Print version'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from upgrade" -l to -d 'The version to pin (default: the latest)' -r
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from upgrade" -l all -d 'Every registered server'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from upgrade" -s y -l yes -d 'Do not ask for confirmation'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from upgrade" -s h -l help -d 'Print help'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from upgrade" -s V -l version -d 'Print version'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from probe" -l call -d 'Also call this tool' -r
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from probe" -l arguments -d 'The tool\'s arguments, a JSON object' -r
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from probe" -l protocol -d 'Speak only this protocol version (default: find the server\'s era, modern first)' -r -f -a "2025-11-25\t''
2026-07-28\t''"
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from probe" -l client-id -d 'A client id registered with the authorization server beforehand (else crux registers one)' -r
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from probe" -l scopes -d 'Scopes to ask for, space-separated (default: what the server\'s challenge or metadata names)' -r
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from probe" -l callback-port -d 'Fixed port for the loopback redirect (default: any free port)' -r
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from probe" -l grant -d 'authorization-code (browser sign-in) or client-credentials (machine to machine)' -r -f -a "authorization-code\t'Authorization code with PKCE, in the browser'
client-credentials\t'Client credentials, for machine-to-machine servers'"
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from probe" -l auth-method -d 'How the client authenticates to the token endpoint (private_key_jwt: crux generates an ES256 key)' -r -f -a "none\t''
client_secret_basic\t''
client_secret_post\t''
private_key_jwt\t''"
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from probe" -l client-metadata-url -d 'HTTPS URL of a client ID metadata document, used as the client id where the server supports it' -r
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from probe" -l private-key-stdin -d 'With a URL: read a PEM private key (ES256, PKCS#8) for private_key_jwt from standard input'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from probe" -l client-secret-stdin -d 'Read the client secret of --client-id from standard input'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from probe" -l no-resource -d 'Do not send the RFC 8707 resource parameter (for servers that reject it)'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from probe" -l json -d 'Print JSON'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from probe" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from probe" -s V -l version -d 'Print version'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from auth" -l value -d 'Store VAR=VALUE; may repeat (values are visible in shell history and `ps`)' -r
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from auth" -l stdin -d 'Read the value of VAR from standard input (one trailing newline is dropped)'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from auth" -l list -d 'List stored credentials (values are never shown)'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from auth" -l delete -d 'Delete MCP\'s VAR from the keystore and the index'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from auth" -l refresh -d 'With MCP alone: prompt again for credentials already stored, and rerun its setup command'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from auth" -l all -d 'Every registered server that lacks a credential or its setup'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from auth" -l status -d 'Per server: auth type, stored keys, OAuth expiry, scopes, refresh token, last refresh'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from auth" -l refresh-all -d 'Refresh every OAuth token now'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from auth" -l dry-run -d 'With --refresh-all: show what would be refreshed'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from auth" -l revoke -d 'Revoke MCP\'s OAuth tokens at the server (RFC 7009), then delete them here'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from auth" -l local -d 'With --revoke: only delete the tokens here, without telling the server'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from auth" -l reregister -d 'Sign in to MCP with a new dynamic client registration (when the server forgot crux\'s client)'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from auth" -l show-public-key -d 'Print the public key (JWK) to register for private_key_jwt, creating the key if needed'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from auth" -l client-secret-stdin -d 'Store MCP\'s OAuth client secret, read from standard input'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from auth" -l json -d 'With --list or --status: print JSON'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from auth" -s h -l help -d 'Print help'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from auth" -s V -l version -d 'Print version'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from help" -f -a "add" -d 'Register a server: where it comes from and which credentials it needs'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from help" -f -a "list" -d 'List registered servers'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show one server\'s definition and credential status'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from help" -f -a "remove" -d 'Unregister a server and delete its stored credentials'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from help" -f -a "bind" -d 'Hand a server\'s credentials stored before its registration (or for another definition) to the current one, after showing it in full'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from help" -f -a "upgrade" -d 'Re-pin installed servers to another version (default: the latest), or pin servers registered before crux pinned them'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from help" -f -a "probe" -d 'Connect to a server as an MCP client: initialize, list tools, sign in if it asks'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from help" -f -a "auth" -d 'Store, list or delete a server\'s credentials'
complete -c crux -n "__fish_crux_using_subcommand mcp; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c crux -n "__fish_crux_using_subcommand project; and not __fish_seen_subcommand_from create install uninstall sync status help" -s h -l help -d 'Print help'
complete -c crux -n "__fish_crux_using_subcommand project; and not __fish_seen_subcommand_from create install uninstall sync status help" -s V -l version -d 'Print version'
complete -c crux -n "__fish_crux_using_subcommand project; and not __fish_seen_subcommand_from create install uninstall sync status help" -f -a "create" -d 'Write a crux.json in this directory'
complete -c crux -n "__fish_crux_using_subcommand project; and not __fish_seen_subcommand_from create install uninstall sync status help" -f -a "install" -d 'Add registered servers to crux.json and sync; with none, register what crux.json declares (shown in full, after you confirm)'
complete -c crux -n "__fish_crux_using_subcommand project; and not __fish_seen_subcommand_from create install uninstall sync status help" -f -a "uninstall" -d 'Remove a server from crux.json and from .mcp.json'
complete -c crux -n "__fish_crux_using_subcommand project; and not __fish_seen_subcommand_from create install uninstall sync status help" -f -a "sync" -d 'Regenerate the project\'s host configs (.mcp.json and the others crux.json lists) from crux.json (names only, never values)'
complete -c crux -n "__fish_crux_using_subcommand project; and not __fish_seen_subcommand_from create install uninstall sync status help" -f -a "status" -d 'Preflight: whether every server can start (credentials, commands, setup), and the fix for each gap'
complete -c crux -n "__fish_crux_using_subcommand project; and not __fish_seen_subcommand_from create install uninstall sync status help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c crux -n "__fish_crux_using_subcommand project; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help'
complete -c crux -n "__fish_crux_using_subcommand project; and __fish_seen_subcommand_from create" -s V -l version -d 'Print version'
complete -c crux -n "__fish_crux_using_subcommand project; and __fish_seen_subcommand_from install" -s y -l yes -d 'Register what crux.json declares without asking (for scripts; read it first)'
complete -c crux -n "__fish_crux_using_subcommand project; and __fish_seen_subcommand_from install" -s h -l help -d 'Print help'
complete -c crux -n "__fish_crux_using_subcommand project; and __fish_seen_subcommand_from install" -s V -l version -d 'Print version'
complete -c crux -n "__fish_crux_using_subcommand project; and __fish_seen_subcommand_from uninstall" -s h -l help -d 'Print help'
complete -c crux -n "__fish_crux_using_subcommand project; and __fish_seen_subcommand_from uninstall" -s V -l version -d 'Print version'
complete -c crux -n "__fish_crux_using_subcommand project; and __fish_seen_subcommand_from sync" -l host -d 'Also write this host\'s config, and add it to crux.json\'s "hosts" (repeatable)' -r -f -a "claude-code\t'Claude Code: `.mcp.json` in a project, `~/.claude.json` for the user'
cursor\t'Cursor: `.cursor/mcp.json`, `~/.cursor/mcp.json`'
vscode\t'VS Code: `.vscode/mcp.json`'
gemini\t'Gemini CLI: `.gemini/settings.json`, `~/.gemini/settings.json`'
codex\t'Codex: `.codex/config.toml`, `$CODEX_HOME/config.toml`'
roo\t'Roo Code: `.roo/mcp.json`'
zed\t'Zed: `.zed/settings.json`'
opencode\t'OpenCode: `opencode.json`'
claude-desktop\t'Claude Desktop: `claude_desktop_config.json` (per user)'
windsurf\t'Windsurf: `~/.codeium/windsurf/mcp_config.json` (per user)'
cline\t'Cline: `cline_mcp_settings.json` in VS Code\'s storage (per user)'"
complete -c crux -n "__fish_crux_using_subcommand project; and __fish_seen_subcommand_from sync" -l all -d 'Every tracked project on this machine'
complete -c crux -n "__fish_crux_using_subcommand project; and __fish_seen_subcommand_from sync" -l headers-helper -d 'From now on, write remote servers with credentials as native `http` entries whose headers come from `crux headers` (Claude Code\'s headersHelper)'
complete -c crux -n "__fish_crux_using_subcommand project; and __fish_seen_subcommand_from sync" -l no-headers-helper -d 'From now on, start remote servers with credentials through the bridge launcher (the default)'
complete -c crux -n "__fish_crux_using_subcommand project; and __fish_seen_subcommand_from sync" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c crux -n "__fish_crux_using_subcommand project; and __fish_seen_subcommand_from sync" -s V -l version -d 'Print version'
complete -c crux -n "__fish_crux_using_subcommand project; and __fish_seen_subcommand_from status" -l all -d 'Every tracked project on this machine'
complete -c crux -n "__fish_crux_using_subcommand project; and __fish_seen_subcommand_from status" -l json -d 'Print JSON'
complete -c crux -n "__fish_crux_using_subcommand project; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help'
complete -c crux -n "__fish_crux_using_subcommand project; and __fish_seen_subcommand_from status" -s V -l version -d 'Print version'
complete -c crux -n "__fish_crux_using_subcommand project; and __fish_seen_subcommand_from help" -f -a "create" -d 'Write a crux.json in this directory'
complete -c crux -n "__fish_crux_using_subcommand project; and __fish_seen_subcommand_from help" -f -a "install" -d 'Add registered servers to crux.json and sync; with none, register what crux.json declares (shown in full, after you confirm)'
complete -c crux -n "__fish_crux_using_subcommand project; and __fish_seen_subcommand_from help" -f -a "uninstall" -d 'Remove a server from crux.json and from .mcp.json'
complete -c crux -n "__fish_crux_using_subcommand project; and __fish_seen_subcommand_from help" -f -a "sync" -d 'Regenerate the project\'s host configs (.mcp.json and the others crux.json lists) from crux.json (names only, never values)'
complete -c crux -n "__fish_crux_using_subcommand project; and __fish_seen_subcommand_from help" -f -a "status" -d 'Preflight: whether every server can start (credentials, commands, setup), and the fix for each gap'
complete -c crux -n "__fish_crux_using_subcommand project; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c crux -n "__fish_crux_using_subcommand backend; and not __fish_seen_subcommand_from set migrate help" -l json -d 'Print JSON'
complete -c crux -n "__fish_crux_using_subcommand backend; and not __fish_seen_subcommand_from set migrate help" -s h -l help -d 'Print help'
complete -c crux -n "__fish_crux_using_subcommand backend; and not __fish_seen_subcommand_from set migrate help" -s V -l version -d 'Print version'
complete -c crux -n "__fish_crux_using_subcommand backend; and not __fish_seen_subcommand_from set migrate help" -f -a "set" -d 'Save the backend crux uses from now on (CRUX_BACKEND still overrides it)'
complete -c crux -n "__fish_crux_using_subcommand backend; and not __fish_seen_subcommand_from set migrate help" -f -a "migrate" -d 'Move every stored credential to another backend, then delete the old copies'
complete -c crux -n "__fish_crux_using_subcommand backend; and not __fish_seen_subcommand_from set migrate help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c crux -n "__fish_crux_using_subcommand backend; and __fish_seen_subcommand_from set" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c crux -n "__fish_crux_using_subcommand backend; and __fish_seen_subcommand_from set" -s V -l version -d 'Print version'
complete -c crux -n "__fish_crux_using_subcommand backend; and __fish_seen_subcommand_from migrate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c crux -n "__fish_crux_using_subcommand backend; and __fish_seen_subcommand_from migrate" -s V -l version -d 'Print version'
complete -c crux -n "__fish_crux_using_subcommand backend; and __fish_seen_subcommand_from help" -f -a "set" -d 'Save the backend crux uses from now on (CRUX_BACKEND still overrides it)'
complete -c crux -n "__fish_crux_using_subcommand backend; and __fish_seen_subcommand_from help" -f -a "migrate" -d 'Move every stored credential to another backend, then delete the old copies'
complete -c crux -n "__fish_crux_using_subcommand backend; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c crux -n "__fish_crux_using_subcommand launch" -s h -l help -d 'Print help'
complete -c crux -n "__fish_crux_using_subcommand launch" -s V -l version -d 'Print version'
complete -c crux -n "__fish_crux_using_subcommand bridge" -s h -l help -d 'Print help'
complete -c crux -n "__fish_crux_using_subcommand bridge" -s V -l version -d 'Print version'
complete -c crux -n "__fish_crux_using_subcommand headers" -l no-url-check -d 'For hosts that do not say where they send the headers: print them without that check (a project file could then send them elsewhere)'
complete -c crux -n "__fish_crux_using_subcommand headers" -s h -l help -d 'Print help'
complete -c crux -n "__fish_crux_using_subcommand headers" -s V -l version -d 'Print version'
complete -c crux -n "__fish_crux_using_subcommand host; and not __fish_seen_subcommand_from add remove list help" -s h -l help -d 'Print help'
complete -c crux -n "__fish_crux_using_subcommand host; and not __fish_seen_subcommand_from add remove list help" -s V -l version -d 'Print version'
complete -c crux -n "__fish_crux_using_subcommand host; and not __fish_seen_subcommand_from add remove list help" -f -a "add" -d 'Add entries for registered servers to a host\'s user-wide config'
complete -c crux -n "__fish_crux_using_subcommand host; and not __fish_seen_subcommand_from add remove list help" -f -a "remove" -d 'Remove the entries crux wrote for these servers from a host\'s user-wide config'
complete -c crux -n "__fish_crux_using_subcommand host; and not __fish_seen_subcommand_from add remove list help" -f -a "list" -d 'The hosts crux finds on this machine, and which of their servers come from crux (current or stale)'
complete -c crux -n "__fish_crux_using_subcommand host; and not __fish_seen_subcommand_from add remove list help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c crux -n "__fish_crux_using_subcommand host; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c crux -n "__fish_crux_using_subcommand host; and __fish_seen_subcommand_from add" -s V -l version -d 'Print version'
complete -c crux -n "__fish_crux_using_subcommand host; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c crux -n "__fish_crux_using_subcommand host; and __fish_seen_subcommand_from remove" -s V -l version -d 'Print version'
complete -c crux -n "__fish_crux_using_subcommand host; and __fish_seen_subcommand_from list" -l json -d 'Print JSON'
complete -c crux -n "__fish_crux_using_subcommand host; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c crux -n "__fish_crux_using_subcommand host; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c crux -n "__fish_crux_using_subcommand host; and __fish_seen_subcommand_from help" -f -a "add" -d 'Add entries for registered servers to a host\'s user-wide config'
complete -c crux -n "__fish_crux_using_subcommand host; and __fish_seen_subcommand_from help" -f -a "remove" -d 'Remove the entries crux wrote for these servers from a host\'s user-wide config'
complete -c crux -n "__fish_crux_using_subcommand host; and __fish_seen_subcommand_from help" -f -a "list" -d 'The hosts crux finds on this machine, and which of their servers come from crux (current or stale)'
complete -c crux -n "__fish_crux_using_subcommand host; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c crux -n "__fish_crux_using_subcommand import" -l secret -d 'Treat this variable (or header, or flag) as a credential (repeatable; SERVER:NAME for one server)' -r
complete -c crux -n "__fish_crux_using_subcommand import" -l not-secret -d 'Keep this variable (or header, or flag) as a plain setting (repeatable; SERVER:NAME for one server)' -r
complete -c crux -n "__fish_crux_using_subcommand import" -l from -d 'Convert another tool\'s CRUX_HOME instead of host configs' -r -f -a "crux-cli\t'A CRUX_HOME written by crux-cli, the Python tool (PyPI crux-cli 1.0.x)'"
complete -c crux -n "__fish_crux_using_subcommand import" -l all -d 'Every host (the default when no host is named)'
complete -c crux -n "__fish_crux_using_subcommand import" -l project -d 'Only the project files in the current directory (.mcp.json, .cursor/mcp.json, …)'
complete -c crux -n "__fish_crux_using_subcommand import" -l user -d 'Only the user-wide files (~/.claude.json, ~/.codex/config.toml, …)'
complete -c crux -n "__fish_crux_using_subcommand import" -l dry-run -d 'Show the plan and change nothing'
complete -c crux -n "__fish_crux_using_subcommand import" -s y -l yes -d 'Do not ask for confirmation (for scripts)'
complete -c crux -n "__fish_crux_using_subcommand import" -l json -d 'Print the plan and the result as JSON (values never included)'
complete -c crux -n "__fish_crux_using_subcommand import" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c crux -n "__fish_crux_using_subcommand import" -s V -l version -d 'Print version'
complete -c crux -n "__fish_crux_using_subcommand doctor" -l live -d 'Also read every credential, refresh OAuth tokens, and start each server through its generated entry (initialize + tools/list)'
complete -c crux -n "__fish_crux_using_subcommand doctor" -l json -d 'Print JSON'
complete -c crux -n "__fish_crux_using_subcommand doctor" -s h -l help -d 'Print help'
complete -c crux -n "__fish_crux_using_subcommand doctor" -s V -l version -d 'Print version'
complete -c crux -n "__fish_crux_using_subcommand completions" -s h -l help -d 'Print help'
complete -c crux -n "__fish_crux_using_subcommand completions" -s V -l version -d 'Print version'
complete -c crux -n "__fish_crux_using_subcommand help; and not __fish_seen_subcommand_from mcp project backend launch bridge headers host import doctor completions help" -f -a "mcp" -d 'Manage MCP servers and their credentials'
complete -c crux -n "__fish_crux_using_subcommand help; and not __fish_seen_subcommand_from mcp project backend launch bridge headers host import doctor completions help" -f -a "project" -d 'Declare a project\'s servers (crux.json) and generate its .mcp.json'
complete -c crux -n "__fish_crux_using_subcommand help; and not __fish_seen_subcommand_from mcp project backend launch bridge headers host import doctor completions help" -f -a "backend" -d 'Show the active keystore backend and why it was chosen, or change it'
complete -c crux -n "__fish_crux_using_subcommand help; and not __fish_seen_subcommand_from mcp project backend launch bridge headers host import doctor completions help" -f -a "launch" -d 'Start a server with its credentials in its environment (what the installed launcher runs)'
complete -c crux -n "__fish_crux_using_subcommand help; and not __fish_seen_subcommand_from mcp project backend launch bridge headers host import doctor completions help" -f -a "bridge" -d 'Connect stdio to a remote server\'s Streamable HTTP endpoint with its OAuth token (what the bridge launcher runs)'
complete -c crux -n "__fish_crux_using_subcommand help; and not __fish_seen_subcommand_from mcp project backend launch bridge headers host import doctor completions help" -f -a "headers" -d 'Print a remote server\'s auth headers as JSON, for hosts with a headers helper (prints the token: for programs, not terminals)'
complete -c crux -n "__fish_crux_using_subcommand help; and not __fish_seen_subcommand_from mcp project backend launch bridge headers host import doctor completions help" -f -a "host" -d 'Add crux\'s servers to a host configured per user (Claude Desktop, Windsurf, Cline, and the user scope of Claude Code, Codex, Gemini CLI), or see which hosts this machine has'
complete -c crux -n "__fish_crux_using_subcommand help; and not __fish_seen_subcommand_from mcp project backend launch bridge headers host import doctor completions help" -f -a "import" -d 'Move the plaintext credentials of existing host configs into the keystore, or bring a crux-cli ~/.crux over'
complete -c crux -n "__fish_crux_using_subcommand help; and not __fish_seen_subcommand_from mcp project backend launch bridge headers host import doctor completions help" -f -a "doctor" -d 'Check everything a server needs to start, and say the fix for each problem'
complete -c crux -n "__fish_crux_using_subcommand help; and not __fish_seen_subcommand_from mcp project backend launch bridge headers host import doctor completions help" -f -a "completions" -d 'Print a shell completion script (bash, zsh, fish, elvish, powershell)'
complete -c crux -n "__fish_crux_using_subcommand help; and not __fish_seen_subcommand_from mcp project backend launch bridge headers host import doctor completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c crux -n "__fish_crux_using_subcommand help; and __fish_seen_subcommand_from mcp" -f -a "add" -d 'Register a server: where it comes from and which credentials it needs'
complete -c crux -n "__fish_crux_using_subcommand help; and __fish_seen_subcommand_from mcp" -f -a "list" -d 'List registered servers'
complete -c crux -n "__fish_crux_using_subcommand help; and __fish_seen_subcommand_from mcp" -f -a "show" -d 'Show one server\'s definition and credential status'
complete -c crux -n "__fish_crux_using_subcommand help; and __fish_seen_subcommand_from mcp" -f -a "remove" -d 'Unregister a server and delete its stored credentials'
complete -c crux -n "__fish_crux_using_subcommand help; and __fish_seen_subcommand_from mcp" -f -a "bind" -d 'Hand a server\'s credentials stored before its registration (or for another definition) to the current one, after showing it in full'
complete -c crux -n "__fish_crux_using_subcommand help; and __fish_seen_subcommand_from mcp" -f -a "upgrade" -d 'Re-pin installed servers to another version (default: the latest), or pin servers registered before crux pinned them'
complete -c crux -n "__fish_crux_using_subcommand help; and __fish_seen_subcommand_from mcp" -f -a "probe" -d 'Connect to a server as an MCP client: initialize, list tools, sign in if it asks'
complete -c crux -n "__fish_crux_using_subcommand help; and __fish_seen_subcommand_from mcp" -f -a "auth" -d 'Store, list or delete a server\'s credentials'
complete -c crux -n "__fish_crux_using_subcommand help; and __fish_seen_subcommand_from project" -f -a "create" -d 'Write a crux.json in this directory'
complete -c crux -n "__fish_crux_using_subcommand help; and __fish_seen_subcommand_from project" -f -a "install" -d 'Add registered servers to crux.json and sync; with none, register what crux.json declares (shown in full, after you confirm)'
complete -c crux -n "__fish_crux_using_subcommand help; and __fish_seen_subcommand_from project" -f -a "uninstall" -d 'Remove a server from crux.json and from .mcp.json'
complete -c crux -n "__fish_crux_using_subcommand help; and __fish_seen_subcommand_from project" -f -a "sync" -d 'Regenerate the project\'s host configs (.mcp.json and the others crux.json lists) from crux.json (names only, never values)'
complete -c crux -n "__fish_crux_using_subcommand help; and __fish_seen_subcommand_from project" -f -a "status" -d 'Preflight: whether every server can start (credentials, commands, setup), and the fix for each gap'
complete -c crux -n "__fish_crux_using_subcommand help; and __fish_seen_subcommand_from backend" -f -a "set" -d 'Save the backend crux uses from now on (CRUX_BACKEND still overrides it)'
complete -c crux -n "__fish_crux_using_subcommand help; and __fish_seen_subcommand_from backend" -f -a "migrate" -d 'Move every stored credential to another backend, then delete the old copies'
complete -c crux -n "__fish_crux_using_subcommand help; and __fish_seen_subcommand_from host" -f -a "add" -d 'Add entries for registered servers to a host\'s user-wide config'
complete -c crux -n "__fish_crux_using_subcommand help; and __fish_seen_subcommand_from host" -f -a "remove" -d 'Remove the entries crux wrote for these servers from a host\'s user-wide config'
complete -c crux -n "__fish_crux_using_subcommand help; and __fish_seen_subcommand_from host" -f -a "list" -d 'The hosts crux finds on this machine, and which of their servers come from crux (current or stale)'
