ALTER TABLE "licenses" ADD COLUMN "queue_enabled" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "licenses" ADD COLUMN "queue_max_length" integer DEFAULT 1000 NOT NULL;--> statement-breakpoint
ALTER TABLE "licenses" ADD COLUMN "queue_claim_seconds" integer DEFAULT 60 NOT NULL;