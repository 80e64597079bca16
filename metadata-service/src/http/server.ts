/**
 * The metadata service's HTTP API (JSON). Every queue answer carries the znode `version` (so a
 * frontend can cache it and know when it changed) and `stale: true` when it came from the cache
 * while ZooKeeper was unreachable. `:name` is a queue id `<account>:<name>` (URL-encoded), or a
 * bare name for the default owner's queue; lists are per owner (default: the default owner).
 *   POST   /v1/queues                          {name, attributes?, tags?, owner?}  create (idempotent)
 *   GET    /v1/queues?prefix&maxResults&nextToken&owner                            list
 *   GET    /v1/queues/:name                                                        record + version
 *   GET    /v1/queues/:name/attributes                                             SQS `All` attributes
 *   PATCH  /v1/queues/:name/attributes          {attributes}
 *   GET    /v1/queues/:name/tags   POST /v1/queues/:name/tags {tags}   DELETE /v1/queues/:name/tags {keys}
 *   POST   /v1/queues/:name/permissions    {label, accounts, actions}   AddPermission (compare-and-set on the Policy)
 *   DELETE /v1/queues/:name/permissions    {label}                      RemovePermission (compare-and-set on the Policy)
 *   DELETE /v1/queues/:name
 *   GET    /v1/queues/:name/dead-letter-sources?maxResults&nextToken&owner   the sources' queue ids (owner's only, if named)
 *   POST   /v1/queues/:name/move                {to}   move to another cluster (drain-and-switch)
 *   GET    /v1/clusters                                                            cluster view
 *   POST   /v1/move-tasks                       {sourceArn, destinationArn?, maxPerSecond?, caller?}  start (DLQ redrive; caller: the account
 *                                          whose send rights bound where messages go back to)
 *   POST   /v1/move-tasks/cancel                {taskHandle}   cancel a RUNNING task (handles are too long for a path)
 *   GET    /v1/move-tasks?sourceArn&maxResults                                     a source's tasks, newest first
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { ConveyorError } from '@conveyor/client-sdk';
import type { MetadataService } from '../metadata-service.ts';

function intParam(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new ConveyorError('InvalidParameterValue', `Value ${String(value)} for parameter ${name} is invalid. Reason: must be an integer.`, { parameter: name });
  return n;
}

function stringMap(value: unknown, name: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value) || Object.values(value).some((v) => typeof v !== 'string')) {
    throw new ConveyorError('InvalidParameterValue', `${name} must be a map of strings.`, { parameter: name });
  }
  return value as Record<string, string>;
}

function requiredString(value: unknown, name: string): string {
  if (typeof value !== 'string') throw new ConveyorError('MissingParameter', `The request must contain the parameter ${name}.`, { parameter: name });
  return value;
}

function stringList(value: unknown, name: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw new ConveyorError('InvalidParameterValue', `${name} must be a list of strings.`, { parameter: name });
  return value as string[];
}

export function buildMetadataServer(service: MetadataService, logger: FastifyBaseLogger | false): FastifyInstance {
  const app = (logger ? Fastify({ loggerInstance: logger }) : Fastify({ logger: false })) as unknown as FastifyInstance;

  app.setErrorHandler((error, request, reply) => {
    if (error instanceof ConveyorError) return reply.code(error.status).send({ error: { code: error.code, message: error.message } });
    const status = (error as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) return reply.code(400).send({ error: { code: 'InvalidParameterValue', message: (error as Error).message } });
    request.log.error({ err: error }, 'internal failure');
    return reply.code(500).send({ error: { code: 'InternalFailure', message: `Internal failure (request ${request.id}).` } });
  });

  type Named = { Params: { name: string } };
  const body = (raw: unknown): Record<string, unknown> => (raw && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {});

  app.post('/v1/queues', async (request) => {
    const b = body(request.body);
    if (typeof b.name !== 'string') throw new ConveyorError('MissingParameter', 'The request must contain the parameter QueueName.', { parameter: 'QueueName' });
    return service.createQueue({ name: b.name, attributes: stringMap(b.attributes, 'Attributes'), tags: stringMap(b.tags, 'Tags'), owner: typeof b.owner === 'string' ? b.owner : undefined });
  });
  app.get<{ Querystring: Record<string, string | undefined> }>('/v1/queues', async (request) => {
    const q = request.query;
    return service.listQueues(q.prefix ?? '', intParam(q.maxResults, 'MaxResults'), q.nextToken, q.owner);
  });
  app.get<Named>('/v1/queues/:name', async (request) => service.getQueue(request.params.name));
  app.get<Named>('/v1/queues/:name/attributes', async (request) => ({ attributes: await service.queueAttributes(request.params.name) }));
  app.patch<Named>('/v1/queues/:name/attributes', async (request) => service.setQueueAttributes(request.params.name, stringMap(body(request.body).attributes, 'Attributes')));
  app.get<Named>('/v1/queues/:name/tags', async (request) => ({ tags: service.getQueue(request.params.name).queue.tags }));
  app.post<Named>('/v1/queues/:name/tags', async (request) => service.tagQueue(request.params.name, stringMap(body(request.body).tags, 'Tags')));
  app.delete<Named>('/v1/queues/:name/tags', async (request) => service.untagQueue(request.params.name, body(request.body).keys as string[]));
  app.post<Named>('/v1/queues/:name/permissions', async (request) => {
    const b = body(request.body);
    return service.addPermission(request.params.name, { label: requiredString(b.label, 'Label'), accounts: stringList(b.accounts, 'AWSAccountIds'), actions: stringList(b.actions, 'Actions') });
  });
  app.delete<Named>('/v1/queues/:name/permissions', async (request) => service.removePermission(request.params.name, requiredString(body(request.body).label, 'Label')));
  app.delete<Named>('/v1/queues/:name', async (request) => {
    await service.deleteQueue(request.params.name);
    return {};
  });
  app.get<Named & { Querystring: Record<string, string | undefined> }>('/v1/queues/:name/dead-letter-sources', async (request) =>
    service.deadLetterSources(request.params.name, intParam(request.query.maxResults, 'MaxResults'), request.query.nextToken, request.query.owner),
  );
  app.post<Named>('/v1/queues/:name/move', async (request) => {
    const to = body(request.body).to;
    if (typeof to !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(to)) throw new ConveyorError('InvalidParameterValue', 'The move needs a target cluster id "to".', { parameter: 'to' });
    return service.moveQueue(request.params.name, to);
  });
  app.get('/v1/clusters', async () => service.clusterView());
  app.post('/v1/move-tasks', async (request) => {
    const b = body(request.body);
    return service.moveTasks.startTask({ sourceArn: b.sourceArn, destinationArn: b.destinationArn, maxMessagesPerSecond: b.maxPerSecond, caller: b.caller });
  });
  app.post('/v1/move-tasks/cancel', async (request) => ({ task: await service.moveTasks.cancelTask(body(request.body).taskHandle) }));
  app.get<{ Querystring: Record<string, string | undefined> }>('/v1/move-tasks', async (request) => ({
    tasks: await service.moveTasks.listTasks(request.query.sourceArn, intParam(request.query.maxResults, 'MaxResults')),
  }));
  app.get('/health', async () => ({ ok: true, stale: service.stale }));
  return app;
}
