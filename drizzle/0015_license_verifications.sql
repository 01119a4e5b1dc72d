CREATE TABLE "license_verifications" (
	"seq" bigserial PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"license_id" text NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"operation" text NOT NULL,
	"result" text NOT NULL,
	"address" text,
	"origin" text,
	"fingerprint" text
);
--> statement-breakpoint
ALTER TABLE "license_verifications" ADD CONSTRAINT "license_verifications_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "license_verifications" ADD CONSTRAINT "license_verifications_license_id_licenses_id_fk" FOREIGN KEY ("license_id") REFERENCES "public"."licenses"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "license_verifications_license_at_idx" ON "license_verifications" USING btree ("license_id","at","seq");--> statement-breakpoint
CREATE INDEX "license_verifications_at_idx" ON "license_verifications" USING btree ("at");