"""The MCP shell: `companion mcp` serves the vault's verbs to AI agents over stdio."""
