/** What the router and the metadata client report, for whoever counts (the frontend's metrics). */
export interface UpstreamMetrics {
  /** Messages a backend accepted, delivered or deleted for a queue. */
  messages(queue: string, operation: 'sent' | 'received' | 'deleted', count: number): void;
  /** One round trip to a backend cluster. */
  backendCall(action: string, seconds: number, ok: boolean): void;
  /** One round trip to the metadata service. */
  metadataCall(method: string, seconds: number, ok: boolean): void;
  /** A routing-cache entry fetched anew (missing, expired or refreshed after a routing failure). */
  routeRefresh(kind: 'queue' | 'cluster'): void;
}
