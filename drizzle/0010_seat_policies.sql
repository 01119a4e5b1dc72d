CREATE TYPE "public"."leasing_strategy" AS ENUM('PER_MACHINE', 'PER_USER', 'PER_PROCESS');--> statement-breakpoint
CREATE TYPE "public"."overage_strategy" AS ENUM('NONE', 'ALLOW_1_25X', 'ALLOW_1_5X', 'ALLOW_2X', 'ALWAYS');--> statement-breakpoint
ALTER TABLE "licenses" ADD COLUMN "overage" "overage_strategy" DEFAULT 'NONE' NOT NULL;--> statement-breakpoint
ALTER TABLE "licenses" ADD COLUMN "leasing_strategy" "leasing_strategy" DEFAULT 'PER_MACHINE' NOT NULL;--> statement-breakpoint
ALTER TABLE "licenses" ADD COLUMN "max_processes_per_machine" integer;--> statement-breakpoint
ALTER TABLE "licenses" ADD COLUMN "linger_seconds" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "licenses" ADD COLUMN "queue_enabled" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "licenses" ADD COLUMN "queue_max_length" integer DEFAULT 1000 NOT NULL;--> statement-breakpoint
ALTER TABLE "licenses" ADD COLUMN "queue_claim_seconds" integer DEFAULT 60 NOT NULL;--> statement-breakpoint
ALTER TABLE "seat_sessions" ADD COLUMN "overage" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "seat_sessions" ADD COLUMN "user_id" text;--> statement-breakpoint
ALTER TABLE "seat_sessions" ADD COLUMN "process_id" text;