-- Body of public.custom_access_token_hook(event jsonb), Supabase's Custom
-- Access Token hook. GoTrue calls it as supabase_auth_admin with search_path
-- = auth and a 2 s statement timeout, inside the token's transaction: every
-- name is schema-qualified and the work is one indexed lookup. A user with no
-- role gets the claim set to null (least access); every claim GoTrue requires
-- is kept as it came. {{claim_path}} is replaced by the configured claim path
-- (default {user_role}) as a quoted text[] literal.
declare
  claims jsonb := event -> 'claims';
  granted public.app_role;
begin
  -- The most privileged role the user holds: roles are declared most privileged first.
  select ur.role into granted
    from public.user_roles ur
   where ur.user_id = (event ->> 'user_id')::uuid
   order by ur.role
   limit 1;
  claims := jsonb_set(claims, {{claim_path}}::text[], coalesce(to_jsonb(granted), 'null'::jsonb), true);
  return jsonb_set(event, '{claims}', claims);
end;
