"""All network code: HTTP/1.1 over sockets, WebSocket, Socket.IO; their failures become StreamchatErrors here."""
