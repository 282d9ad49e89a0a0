-- Body of public.authorize(requested_permission public.app_permission).
-- True when the calling user (auth.uid()) holds a role that has the
-- permission in public.role_permissions. SECURITY DEFINER so callers need no
-- rights on the role tables; policies call it as (select public.authorize(...))
-- so it runs once per statement, not once per row. plpgsql keeps its plan
-- cached for the session.
begin
  return exists (
    select 1
      from public.user_roles ur
      join public.role_permissions rp on rp.role = ur.role
     where ur.user_id = auth.uid()
       and rp.permission = requested_permission
  );
end;
