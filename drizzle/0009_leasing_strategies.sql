CREATE TYPE "public"."leasing_strategy" AS ENUM('PER_MACHINE', 'PER_USER', 'PER_PROCESS');--> statement-breakpoint
ALTER TABLE "licenses" ADD COLUMN "leasing_strategy" "leasing_strategy" DEFAULT 'PER_MACHINE' NOT NULL;--> statement-breakpoint
ALTER TABLE "licenses" ADD COLUMN "max_processes_per_machine" integer;--> statement-breakpoint
ALTER TABLE "seat_sessions" ADD COLUMN "user_id" text;--> statement-breakpoint
ALTER TABLE "seat_sessions" ADD COLUMN "process_id" text;