CREATE TYPE "public"."overage_strategy" AS ENUM('NONE', 'ALLOW_1_25X', 'ALLOW_1_5X', 'ALLOW_2X', 'ALWAYS');--> statement-breakpoint
ALTER TABLE "licenses" ADD COLUMN "overage" "overage_strategy" DEFAULT 'NONE' NOT NULL;--> statement-breakpoint
ALTER TABLE "seat_sessions" ADD COLUMN "overage" boolean DEFAULT false NOT NULL;