/** The shim's default listen address and ports; apart from server.ts so the CLI can show them without loading gRPC. */
export const DEFAULT_GRPC_PORT = 8080;
export const DEFAULT_GRPC_WEB_PORT = 9090;
export const DEFAULT_HOST = '0.0.0.0';
/** The longest the shim takes to stop after SIGTERM: under Kubernetes' default 30 s termination grace period. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 20_000;
