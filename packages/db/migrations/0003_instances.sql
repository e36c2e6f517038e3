CREATE TABLE "instance_grants" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"instance_id" uuid NOT NULL,
	"account_id" uuid NOT NULL,
	"bundle" jsonb NOT NULL,
	"role" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "instance_grants_instance_account_key" UNIQUE("instance_id","account_id"),
	CONSTRAINT "instance_grants_role_check" CHECK ("instance_grants"."role" in ('admin','operator','auditor','viewer'))
);
--> statement-breakpoint
CREATE TABLE "instances" (
	"id" uuid PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"admin_user_id" uuid,
	"kdf_params" jsonb NOT NULL,
	"kdf_salt" "bytea" NOT NULL,
	"auth_key_hash" "bytea" NOT NULL,
	"identity_public_key" "bytea" NOT NULL,
	"box_public_key" "bytea" NOT NULL,
	"wrapped_identity_key" "bytea" NOT NULL,
	"wrapped_box_key" "bytea" NOT NULL,
	"certificate" jsonb NOT NULL,
	"signer_public_key" "bytea" NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"rotated_at" timestamp with time zone,
	"revoked_at" timestamp with time zone,
	"online" boolean DEFAULT false NOT NULL,
	"last_seen_at" timestamp with time zone,
	"companion_version" text,
	"remote_address" text,
	"connection_id" text,
	"enrolled_at" timestamp with time zone,
	"token_version" bigint DEFAULT 1 NOT NULL
);
--> statement-breakpoint
ALTER TABLE "instance_grants" ADD CONSTRAINT "instance_grants_instance_id_instances_id_fk" FOREIGN KEY ("instance_id") REFERENCES "public"."instances"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "instance_grants" ADD CONSTRAINT "instance_grants_account_id_users_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "instance_grants" ADD CONSTRAINT "instance_grants_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "instances" ADD CONSTRAINT "instances_admin_user_id_users_id_fk" FOREIGN KEY ("admin_user_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "instance_grants_account_idx" ON "instance_grants" USING btree ("account_id");--> statement-breakpoint
CREATE INDEX "instances_admin_idx" ON "instances" USING btree ("admin_user_id");