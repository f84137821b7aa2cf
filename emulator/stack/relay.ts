// The stack's Eventarc: takes Pub/Sub pushes (or pulls, from an emulator without push) and delivers CloudEvents to functions.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Duration, PubSub, type Message, type Subscription } from "@google-cloud/pubsub";
import { pubsubClientOptions } from "../../platform/gcp/pubsub-event-bus.ts";
import type { Logger } from "../../platform/ports/logger.ts";
import {
  PushBody,
  messageIdOf,
  publishTimeOf,
  pubsubCloudEvent,
  type CloudEventRequest,
} from "./eventarc.ts";
import type { Route } from "./topology.ts";
import { LOOPBACK } from "./ports.ts";

export interface RelayRoute extends Route {
  /** The function host's URL. */
  target: string;
}

/** Fault injection: every delivery made twice, each copy after a random delay, so copies and neighbours arrive out of order. */
export interface Chaos {
  duplicate: boolean;
  maxDelayMs: number;
}

export interface Delivery {
  subscription: string;
  fn: string;
  messageId: string;
  /** Attributes that identify the event (type, runId, eventId, a notification's objectId) and the publisher's clock (benchSentAt). */
  attributes: Record<string, string>;
  publishTime: string;
  receivedAt: number;
  handledAt: number;
  status: number;
  copy: number;
}

export interface RelayOptions {
  projectId: string;
  pubsubHost: string;
  routes: RelayRoute[];
  /** push: the emulator pushes to /push/SUBSCRIPTION; pull: the relay pulls (pstest has no push). */
  delivery: "push" | "pull";
  port?: number;
  log: Logger;
  /** Longest a function may take before the delivery counts as failed. */
  timeoutMs?: number;
}

const KEPT_ATTRIBUTES = ["type", "runId", "eventId", "benchSentAt", "objectId"];

export class Relay {
  private server: Server | null = null;
  private pubsub: PubSub | null = null;
  private readonly subscriptions: Subscription[] = [];
  private readonly routes: Map<string, RelayRoute>;
  private chaos: Chaos = { duplicate: false, maxDelayMs: 0 };
  private readonly deliveries: Delivery[] = [];
  port = 0;

  constructor(private readonly options: RelayOptions) {
    this.routes = new Map(options.routes.map((r) => [r.subscription, r]));
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve, reject) => {
      this.server!.once("error", reject);
      this.server!.listen(this.options.port ?? 0, LOOPBACK, () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
    if (this.options.delivery === "pull") this.startPulling();
  }

  async close(): Promise<void> {
    await Promise.all(this.subscriptions.map((s) => s.close()));
    await this.pubsub?.close();
    if (this.server) {
      this.server.closeAllConnections();
      await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    }
  }

  private startPulling(): void {
    this.pubsub = new PubSub(pubsubClientOptions(this.options.projectId, this.options.pubsubHost));
    for (const route of this.options.routes) {
      const sub = this.pubsub.subscription(route.subscription, {
        flowControl: { maxMessages: 100 },
        minAckDeadline: Duration.from({ seconds: 120 }),
      });
      sub.on("message", (m: Message) => void this.onPulled(route, m));
      sub.on("error", (err: Error) =>
        this.options.log.error(`pulling ${route.subscription}: ${err.message}`),
      );
      this.subscriptions.push(sub);
    }
  }

  private async onPulled(route: RelayRoute, m: Message): Promise<void> {
    const push: PushBody = {
      message: {
        data: m.data.toString("base64"),
        attributes: m.attributes,
        messageId: m.id,
        publishTime: m.publishTime.toISOString(),
        ...(m.orderingKey ? { orderingKey: m.orderingKey } : {}),
      },
      subscription: `projects/${this.options.projectId}/subscriptions/${route.subscription}`,
      ...(m.deliveryAttempt ? { deliveryAttempt: m.deliveryAttempt } : {}),
    };
    const ok = await this.deliver(route, push);
    if (ok) m.ack();
    else m.nack();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://relay");
    const body = await readBody(req);
    const send = (status: number, payload?: unknown): void => {
      res
        .writeHead(status, payload === undefined ? {} : { "content-type": "application/json" })
        .end(payload === undefined ? undefined : JSON.stringify(payload));
    };
    if (req.method === "GET" && url.pathname === "/healthz")
      return send(200, { ok: true, delivery: this.options.delivery });
    if (url.pathname === "/admin/deliveries") {
      if (req.method === "DELETE") {
        this.deliveries.length = 0;
        return send(204);
      }
      return send(200, { deliveries: this.deliveries });
    }
    if (url.pathname === "/admin/chaos") {
      if (req.method === "POST") {
        const next = JSON.parse(body || "{}") as Partial<Chaos>;
        this.chaos = {
          duplicate: next.duplicate === true,
          maxDelayMs: Math.max(0, Number(next.maxDelayMs ?? 0)),
        };
        this.options.log.warn(`chaos ${JSON.stringify(this.chaos)}`);
      }
      return send(200, this.chaos);
    }
    const m = /^\/push\/([^/]+)$/.exec(url.pathname);
    if (req.method !== "POST" || !m) return send(404, { error: `no route ${req.method} ${url.pathname}` });
    const route = this.routes.get(decodeURIComponent(m[1]!));
    if (!route) return send(404, { error: `no trigger for subscription ${m[1]}` });
    let push: PushBody;
    try {
      push = PushBody.parse(JSON.parse(body));
    } catch (err) {
      this.options.log.error(
        `a push to ${route.subscription} is not a Pub/Sub push: ${(err as Error).message}`,
      );
      return send(400, { error: "not a Pub/Sub push body" });
    }
    const ok = await this.deliver(route, push);
    // 2xx acknowledges the message; anything else makes Pub/Sub redeliver it, and dead-letter it in the end.
    send(ok ? 204 : 503);
  }

  /** Delivers once (or twice under chaos); true when every copy was handled with a 2xx. */
  private async deliver(route: RelayRoute, push: PushBody): Promise<boolean> {
    // Every route is a push subscription, the bucket notifications' too: a messagePublished event from its topic.
    const event = pubsubCloudEvent(push, this.options.projectId, route.topic);
    const copies = this.chaos.duplicate ? 2 : 1;
    const results = await Promise.all(
      Array.from({ length: copies }, async (_, copy) => {
        if (this.chaos.maxDelayMs > 0)
          await new Promise((r) => setTimeout(r, Math.random() * this.chaos.maxDelayMs));
        return this.post(route, push, event, copy);
      }),
    );
    return results.every((s) => s >= 200 && s < 300);
  }

  private async post(
    route: RelayRoute,
    push: PushBody,
    event: CloudEventRequest,
    copy: number,
  ): Promise<number> {
    const receivedAt = Date.now();
    let status: number;
    try {
      const res = await fetch(route.target, {
        method: "POST",
        headers: event.headers,
        body: event.body,
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 110_000),
      });
      await res.arrayBuffer();
      status = res.status;
    } catch (err) {
      this.options.log.warn(`delivery to ${route.fn} failed: ${(err as Error).message}`, {
        subscription: route.subscription,
      });
      status = 599;
    }
    const attributes = Object.fromEntries(
      Object.entries(push.message.attributes ?? {}).filter(([k]) => KEPT_ATTRIBUTES.includes(k)),
    );
    this.deliveries.push({
      subscription: route.subscription,
      fn: route.fn,
      messageId: messageIdOf(push),
      attributes,
      publishTime: publishTimeOf(push),
      receivedAt,
      handledAt: Date.now(),
      status,
      copy,
    });
    if (this.deliveries.length > 20_000) this.deliveries.splice(0, 10_000);
    if (status >= 300) {
      this.options.log.warn(
        `${route.fn} answered ${status} for message ${messageIdOf(push)}; Pub/Sub will redeliver it`,
        {
          subscription: route.subscription,
        },
      );
    }
    return status;
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}
